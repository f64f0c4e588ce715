"""Where a ``bext`` chunk cannot go (FLAC, MP3), the take's time reference and description go
into the format's own tags: FLAC Vorbis comments and MP3 ID3v2.4 ``TXXX`` frames, named
TIME_REFERENCE (samples since midnight at the file's rate), DESCRIPTION, ORIGINATOR,
ORIGINATION_DATE and ORIGINATION_TIME.

FLAC (libFLAC format description): "fLaC", then metadata blocks, each a byte (last-block flag,
type) and a 24-bit big-endian length; type 4 is VORBIS_COMMENT (vendor string, then
"NAME=value" strings, lengths 32-bit little-endian). The file's own comment block is replaced,
its vendor string kept. ID3v2.4 (id3.org, id3v2.4.0-structure and -frames): a tag before the
first MPEG frame, its size and each frame's as 28-bit "syncsafe" integers; TXXX holds an
encoding byte (3: UTF-8), a description, a zero byte and the value.
"""

from __future__ import annotations

import struct
from pathlib import Path

from .bwf import COPY_BYTES, Bext

VORBIS_COMMENT = 4


def bext_tags(bext: Bext) -> dict[str, str]:
    tags = {"TIME_REFERENCE": str(bext.time_reference), "DESCRIPTION": bext.description,
            "ORIGINATOR": bext.originator, "ORIGINATION_DATE": bext.origination_date,
            "ORIGINATION_TIME": bext.origination_time}
    return {name: value for name, value in tags.items() if value}


def write_tags(src: Path, dst: Path, container: str, tags: dict[str, str]) -> None:
    """Copy the FLAC or MP3 file ``src`` to ``dst`` with ``tags``."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        if container == "flac":
            _flac(fin, fout, tags)
        elif container == "mp3":
            fout.write(_id3(tags))
        else:
            raise ValueError(f"no tags for {container}")
        while data := fin.read(COPY_BYTES):
            fout.write(data)


def _flac(fin, fout, tags: dict[str, str]) -> None:
    """Copy the metadata blocks with the comment block replaced by ``tags``; leaves ``fin`` at
    the first audio frame."""
    if fin.read(4) != b"fLaC":
        raise ValueError("not a FLAC file")
    blocks, vendor, last = [], b"dxkit", False
    while not last:
        head = fin.read(4)
        last, kind, length = bool(head[0] & 0x80), head[0] & 0x7F, int.from_bytes(head[1:4], "big")
        body = fin.read(length)
        if kind == VORBIS_COMMENT:
            vendor = body[4:4 + struct.unpack("<I", body[:4])[0]]
        else:
            blocks.append((kind, body))
    comments = [f"{name}={value}".encode() for name, value in tags.items()]
    body = struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", len(comments)) + \
        b"".join(struct.pack("<I", len(c)) + c for c in comments)
    blocks.insert(1, (VORBIS_COMMENT, body))  # after STREAMINFO, which comes first
    fout.write(b"fLaC")
    for i, (kind, body) in enumerate(blocks):
        fout.write(bytes([kind | (0x80 if i == len(blocks) - 1 else 0)]) + len(body).to_bytes(3, "big") + body)


def _syncsafe(n: int) -> bytes:
    return bytes([(n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F])


def _id3(tags: dict[str, str]) -> bytes:
    frames = b""
    for name, value in tags.items():
        body = b"\x03" + name.encode() + b"\0" + value.encode()
        frames += b"TXXX" + _syncsafe(len(body)) + b"\0\0" + body
    return b"ID3\x04\x00\x00" + _syncsafe(len(frames)) + frames
