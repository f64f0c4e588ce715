"""Broadcast WAV: write and read the EBU Tech 3285 v2 ``bext`` chunk with loudness fields.

python-soundfile cannot write the v2 loudness fields, so the chunk is built here and spliced
in right after ``fmt `` (where Tech 3285 readers expect it) while the rest of the file is
copied through unchanged.
"""

from __future__ import annotations

import math
import struct
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

# Tech 3285 v2 layout before CodingHistory: Description 256, Originator 32,
# OriginatorReference 32, OriginationDate 10, OriginationTime 8, TimeReference 2 x uint32,
# Version uint16, UMID 64, five int16 loudness values, Reserved 180 -> 602 bytes.
BEXT_FORMAT = "<256s32s32s10s8sIIH64s5h180s"
BEXT_FIXED = struct.calcsize(BEXT_FORMAT)
UNUSED = 0x7FFF  # Tech 3285 v2: a loudness field that is not set holds 0x7FFF
LOUDNESS_FIELDS = ("loudness_value", "loudness_range", "max_true_peak_level",
                   "max_momentary_loudness", "max_short_term_loudness")
COPY_BYTES = 1 << 20


def _centi(value: float | None) -> int:
    """A dB/LU value as the int16 x 100 that Tech 3285 v2 stores."""
    if value is None or not math.isfinite(value):
        return UNUSED
    return max(-32768, min(32766, round(value * 100)))


def bext_chunk(description: str, originator: str, coding_history: str,
               loudness: dict[str, float | None], when: datetime | None = None) -> bytes:
    """The complete ``bext`` chunk (id, size, body, pad byte)."""
    when = when or datetime.now()
    body = struct.pack(
        BEXT_FORMAT,
        description.encode("ascii", "replace")[:256],
        originator.encode("ascii", "replace")[:32],
        b"",
        when.strftime("%Y-%m-%d").encode(),
        when.strftime("%H:%M:%S").encode(),
        0, 0, 2, b"",
        *(_centi(loudness.get(name)) for name in LOUDNESS_FIELDS),
        b"",
    ) + coding_history.encode("ascii", "replace")
    pad = b"\0" if len(body) % 2 else b""
    return b"bext" + struct.pack("<I", len(body)) + body + pad


def _chunks(f: BinaryIO, file_size: int) -> list[tuple[bytes, int, int]]:
    """(id, data offset, data size) of each chunk of a RIFF/WAVE file."""
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    chunks = []
    pos = 12
    while pos + 8 <= file_size:
        f.seek(pos)
        cid, size = struct.unpack("<4sI", f.read(8))
        chunks.append((cid, pos + 8, size))
        pos += 8 + size + (size % 2)
    return chunks


def insert_bext(src: Path, dst: Path, chunk: bytes) -> None:
    """Copy WAV ``src`` to ``dst`` with ``chunk`` after ``fmt `` (replacing any old bext)."""
    size = src.stat().st_size
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        parts = [c for c in _chunks(fin, size) if c[0] != b"bext"]
        total = 4 + sum(8 + s + (s % 2) for _, _, s in parts) + len(chunk)
        fout.write(b"RIFF" + struct.pack("<I", total) + b"WAVE")
        for cid, offset, length in parts:
            fout.write(cid + struct.pack("<I", length))
            fin.seek(offset)
            left = length + (length % 2)
            while left:
                data = fin.read(min(COPY_BYTES, left))
                if not data:
                    raise OSError("source WAV ended early")
                fout.write(data)
                left -= len(data)
            if cid == b"fmt ":
                fout.write(chunk)


def read_bext(path: Path) -> dict | None:
    """The ``bext`` fields of a WAV file, loudness values in dB/LU, or None without a bext."""
    size = Path(path).stat().st_size
    with open(path, "rb") as f:
        for cid, offset, length in _chunks(f, size):
            if cid != b"bext":
                continue
            f.seek(offset)
            body = f.read(length)
            fields = struct.unpack(BEXT_FORMAT, body[:BEXT_FIXED])
            text = [v.rstrip(b"\0").decode("ascii", "replace") for v in fields[:5]]
            loud = fields[9:14]
            out = dict(zip(("description", "originator", "originator_reference",
                            "origination_date", "origination_time"), text))
            out["version"] = fields[7]
            out.update({name: None if v == UNUSED else v / 100 for name, v in zip(LOUDNESS_FIELDS, loud)})
            out["coding_history"] = body[BEXT_FIXED:].rstrip(b"\0").decode("ascii", "replace")
            return out
    return None
