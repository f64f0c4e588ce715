"""Broadcast WAV metadata: read a WAV or RF64 file's ``bext`` chunk (EBU Tech 3285 v2), its
``iXML`` chunk and its channel mask, and write them into a WAV dxkit rendered.

python-soundfile writes none of these (the v2 loudness fields, iXML, a channel mask for 3, 5 or
8 channels), so the rendered file is copied once: its chunks in order, ``fmt `` made
WAVE_FORMAT_EXTENSIBLE where a channel mask is asked for, ``bext`` and ``iXML`` right after
``fmt `` (where Tech 3285 readers expect them). A file over 4 GiB is RF64 (EBU Tech 3306: a
``ds64`` chunk holds the 64-bit sizes).
"""

from __future__ import annotations

import math
import re
import struct
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from .errors import AudioInputError

# Tech 3285 v2 layout before CodingHistory: Description 256, Originator 32,
# OriginatorReference 32, OriginationDate 10, OriginationTime 8, TimeReference 2 x uint32,
# Version uint16, UMID 64, five int16 loudness values, Reserved 180 -> 602 bytes (the same
# 602 in versions 0 and 1, whose later fields were reserved).
BEXT_FORMAT = "<256s32s32s10s8sIIH64s5h180s"
BEXT_FIXED = struct.calcsize(BEXT_FORMAT)
UNUSED = 0x7FFF  # Tech 3285 v2: a loudness field that is not set holds 0x7FFF
LOUDNESS_FIELDS = ("loudness_value", "loudness_range", "max_true_peak_level",
                   "max_momentary_loudness", "max_short_term_loudness")
COPY_BYTES = 1 << 20
RIFF_MAX = 0xFFFFFFFF  # the largest RIFF size field; in RF64, this value means "see ds64"
RIFF_LIMIT = RIFF_MAX  # a file (or data chunk) larger than this is written as RF64
EXTENSIBLE = 0xFFFE  # WAVE_FORMAT_EXTENSIBLE
# KSDATAFORMAT_SUBTYPE_PCM / _IEEE_FLOAT: {0000000X-0000-0010-8000-00AA00389B71}
GUID_TAIL = struct.pack("<HH", 0x0000, 0x0010) + bytes.fromhex("800000aa00389b71")


def _centi(value: float | None) -> int:
    """A dB/LU value as the int16 x 100 that Tech 3285 v2 stores."""
    if value is None or not math.isfinite(value):
        return UNUSED
    return max(-32768, min(32766, round(value * 100)))


def _text(raw: bytes) -> str:
    # Tech 3285 asks for ASCII; recorders write other 8-bit text too. Latin-1 maps every byte to
    # one character and back, so whatever was there is copied unchanged.
    return raw.split(b"\0")[0].decode("latin-1")


@dataclass(frozen=True)
class Bext:
    """The fields of a ``bext`` chunk; loudness values in dB/LU (None: not set)."""

    description: str = ""
    originator: str = ""
    originator_reference: str = ""
    origination_date: str = ""  # yyyy-mm-dd
    origination_time: str = ""  # hh:mm:ss
    time_reference: int = 0  # the first sample's position since midnight, in samples at the file's rate
    version: int = 2
    umid: bytes = b""
    loudness: dict[str, float | None] = field(default_factory=dict)
    coding_history: str = ""

    @classmethod
    def new(cls, description: str, originator: str, when: datetime | None = None) -> Bext:
        when = when or datetime.now()
        return cls(description, originator, origination_date=when.strftime("%Y-%m-%d"),
                   origination_time=when.strftime("%H:%M:%S"))

    @classmethod
    def parse(cls, body: bytes, where: str) -> Bext:
        if len(body) < BEXT_FIXED:
            raise AudioInputError(f"{where}: its bext chunk holds {len(body)} bytes, fewer than the {BEXT_FIXED} "
                                  "of its fixed part (damaged metadata; remove the chunk or repair the file)")
        fields = struct.unpack(BEXT_FORMAT, body[:BEXT_FIXED])
        version = fields[7]
        loudness = {name: None if v == UNUSED or version < 2 else v / 100 for name, v in zip(LOUDNESS_FIELDS, fields[9:14])}
        return cls(*(_text(v) for v in fields[:5]), time_reference=fields[5] | fields[6] << 32, version=version,
                   umid=fields[8] if version >= 1 else b"", loudness=loudness,
                   coding_history=_text(body[BEXT_FIXED:]))

    def chunk(self) -> bytes:
        """The complete chunk (id, size, body, pad byte), as version 2."""
        body = struct.pack(
            BEXT_FORMAT,
            self.description.encode("latin-1", "replace")[:256],
            self.originator.encode("latin-1", "replace")[:32],
            self.originator_reference.encode("latin-1", "replace")[:32],
            self.origination_date.encode("latin-1", "replace")[:10],
            self.origination_time.encode("latin-1", "replace")[:8],
            self.time_reference & 0xFFFFFFFF, self.time_reference >> 32 & 0xFFFFFFFF, 2, self.umid[:64],
            *(_centi(self.loudness.get(name)) for name in LOUDNESS_FIELDS),
            b"",
        ) + self.coding_history.encode("latin-1", "replace")
        return _chunk(b"bext", body)

    def carried(self, from_rate: int, to_rate: int, history_line: str) -> Bext:
        """This ``bext`` on a file written at ``to_rate`` from one at ``from_rate``: the time
        reference at the same instant (to the nearest sample, in integers), a line added to the
        coding history, and no loudness values (they described the other file)."""
        history = self.coding_history
        if history and not history.endswith("\r\n"):
            history += "\r\n"
        return replace(self, time_reference=rescaled(self.time_reference, from_rate, to_rate),
                       coding_history=history + history_line, loudness={})


def rescaled(samples: int, from_rate: int, to_rate: int) -> int:
    """A position in samples at ``from_rate`` as the nearest sample at ``to_rate`` (halves up)."""
    return (samples * to_rate + from_rate // 2) // from_rate


def coding_history(rate: int, depth: int | None, channels: int, text: str) -> str:
    """One EBU R98 coding history line: A=algorithm, F=rate, W=word length, M=mode, T=text."""
    mode = {1: "mono", 2: "stereo"}.get(channels, "multichannel")
    word = "" if depth is None else f"W={depth},"
    return f"A=PCM,F={rate},{word}M={mode},T={text}\r\n"


@dataclass(frozen=True)
class WavMetadata:
    """What a WAV file says about itself beyond its samples."""

    bext: Bext | None = None
    ixml: bytes | None = None
    channel_mask: int | None = None  # None where ``fmt `` is not WAVE_FORMAT_EXTENSIBLE
    rate: int | None = None  # the rate the time reference counts at, where not the file's own

    def moved(self, frames: int, file_rate: int) -> WavMetadata:
        """This metadata on the same file with ``frames`` (at ``file_rate``) cut from its head
        (added, where negative): the time reference, iXML's mirror of it and iXML's own time
        stamp (``TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI/_LO``, at its ``TIMESTAMP_SAMPLE_RATE``)
        move by as much (never before midnight)."""
        if not frames:
            return self
        bext, fields = self.bext, {}
        if bext is not None:
            reference = max(bext.time_reference + rescaled(frames, file_rate, self.rate or file_rate), 0)
            bext = replace(bext, time_reference=reference)
            fields = {"BWF_TIME_REFERENCE_LOW": reference & 0xFFFFFFFF, "BWF_TIME_REFERENCE_HIGH": reference >> 32}
        stamp = [ixml_number(self.ixml, f"TIMESTAMP_{name}") if self.ixml else None
                 for name in ("SAMPLE_RATE", "SAMPLES_SINCE_MIDNIGHT_HI", "SAMPLES_SINCE_MIDNIGHT_LO")]
        if None not in stamp and stamp[0] > 0:
            at = max((stamp[1] << 32 | stamp[2]) + rescaled(frames, file_rate, stamp[0]), 0)
            fields |= {"TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI": at >> 32,
                       "TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO": at & 0xFFFFFFFF}
        ixml = self.ixml and ixml_fields(self.ixml, fields)
        return replace(self, bext=bext, ixml=ixml)

    def carried(self, from_rate: int, to_rate: int, history_line: str, depth: int | None = None) -> WavMetadata:
        """This metadata on a file written at ``to_rate`` (and ``depth`` bits, where given) from
        one at ``from_rate`` (``rate`` where set; see ``Bext.carried``); iXML's file sample
        rate, bit depth and mirror of the time reference follow."""
        from_rate = self.rate or from_rate
        bext = self.bext.carried(from_rate, to_rate, history_line) if self.bext else None
        ixml = self.ixml
        if ixml is not None:
            fields = {"AUDIO_BIT_DEPTH": depth} if depth is not None else {}
            if from_rate != to_rate:
                fields["FILE_SAMPLE_RATE"] = to_rate
                if bext is not None:
                    fields["BWF_TIME_REFERENCE_LOW"] = bext.time_reference & 0xFFFFFFFF
                    fields["BWF_TIME_REFERENCE_HIGH"] = bext.time_reference >> 32
            ixml = ixml_fields(ixml, fields)
        return replace(self, bext=bext, ixml=ixml, rate=None)


def _chunk(cid: bytes, body: bytes) -> bytes:
    return cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")


def ixml_fields(ixml: bytes, fields: dict[str, int]) -> bytes:
    """``ixml`` with the number in each of ``fields``' elements replaced (FILE_SAMPLE_RATE,
    AUDIO_BIT_DEPTH, BWF_TIME_REFERENCE_LOW/_HIGH, TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI/_LO; iXML
    2.x), where the element is there; the rest of the text is left as it was (a rate change
    leaves TIMESTAMP_*, which state their own rate; DIGITIZER_SAMPLE_RATE is the recorder's)."""
    for name, value in fields.items():
        ixml = re.sub(rb"(<%s>)[^<]*(</%s>)" % (name.encode(), name.encode()), rb"\g<1>%d\g<2>" % value, ixml)
    return ixml


def ixml_number(ixml: bytes, name: str) -> int | None:
    """The whole number in ``ixml``'s first ``name`` element; None where there is none."""
    found = re.search(rb"<%s>\s*(\d+)\s*</%s>" % (name.encode(), name.encode()), ixml)
    return int(found.group(1)) if found else None


def _chunks(f: BinaryIO, file_size: int) -> tuple[bool, list[tuple[bytes, int, int]]]:
    """Whether the file is RF64, and (id, data offset, data size) of each of its chunks."""
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] not in (b"RIFF", b"RF64", b"BW64") or head[8:12] != b"WAVE":
        raise NotWave("not a RIFF/WAVE, RF64 or BW64 file")
    rf64 = head[:4] != b"RIFF"  # BW64 (ITU-R BS.2088) lays out its ds64 as RF64 does
    sizes: dict[bytes, int] = {}
    chunks = []
    pos = 12
    while pos + 8 <= file_size:
        f.seek(pos)
        cid, size = struct.unpack("<4sI", f.read(8))
        if cid == b"ds64" and rf64:
            body = f.read(size)
            if len(body) < 28:
                raise ValueError(f"its ds64 chunk holds {len(body)} bytes, fewer than 28")
            _, sizes[b"data"], _, count = struct.unpack("<QQQI", body[:28])
            if len(body) < 28 + 12 * count:
                raise ValueError(f"its ds64 chunk lists {count} sizes it does not hold")
            for i in range(count):
                tid, tsize = struct.unpack("<4sQ", body[28 + 12 * i:40 + 12 * i])
                sizes[tid] = tsize
        elif size == RIFF_MAX and rf64:
            size = sizes.get(cid, size)
        chunks.append((cid, pos + 8, size))
        pos += 8 + size + (size % 2)
    return rf64, chunks


class NotWave(ValueError):
    """The file is not RIFF/WAVE, RF64 or BW64 (so it has none of this metadata)."""


def read_metadata(path: str | Path, strict: bool = True) -> WavMetadata:
    """The ``bext``, ``iXML`` and channel mask of a WAV, RF64 or BW64 file (nothing for other
    files). ``strict`` (to copy them): raises AudioInputError for a ``bext`` shorter than its
    fixed part, an iXML that is not XML or a malformed ``ds64``; otherwise (to read the file's
    layout) such metadata is left out."""
    path = Path(path)
    try:
        return _read_metadata(path)
    except AudioInputError:
        if strict:
            raise
    with open(path, "rb") as f:
        _, chunks = _chunks(f, path.stat().st_size)
        fmt = next(((o, n) for cid, o, n in chunks if cid == b"fmt "), None)
        body = b""
        if fmt is not None:
            f.seek(fmt[0])
            body = f.read(fmt[1])
    return WavMetadata(channel_mask=_mask(body))


def _mask(fmt: bytes) -> int | None:
    if len(fmt) >= 24 and struct.unpack("<H", fmt[:2])[0] == EXTENSIBLE:
        return struct.unpack("<I", fmt[20:24])[0]
    return None


def _read_metadata(path: Path) -> WavMetadata:
    with open(path, "rb") as f:
        try:
            _, chunks = _chunks(f, path.stat().st_size)
        except NotWave:
            return WavMetadata()
        except (ValueError, struct.error) as exc:
            raise AudioInputError(f"{path}: {exc} (a damaged RF64 header)") from None
        found: dict[bytes, bytes] = {}
        for cid, offset, length in chunks:
            if cid in (b"bext", b"iXML", b"fmt ") and cid not in found:
                f.seek(offset)
                found[cid] = f.read(min(length, 1 << 24))
    bext = Bext.parse(found[b"bext"], str(path)) if b"bext" in found else None
    ixml = found.get(b"iXML")
    if ixml is not None:
        ixml = ixml.rstrip(b"\0")
        try:
            ElementTree.fromstring(ixml)
        except ElementTree.ParseError as exc:
            raise AudioInputError(f"{path}: its iXML chunk is not XML ({exc}); dxkit will not copy broken "
                                  "metadata (remove the chunk or repair the file)") from None
    return WavMetadata(bext, ixml, _mask(found.get(b"fmt ", b"")))


def extensible_fmt(fmt: bytes, mask: int) -> bytes:
    """A ``fmt `` body as WAVE_FORMAT_EXTENSIBLE with ``mask`` (PCM or float, as it was)."""
    tag, channels, rate, byte_rate, align, bits = struct.unpack("<HHIIHH", fmt[:16])
    sub = fmt[24:40] if tag == EXTENSIBLE and len(fmt) >= 40 else struct.pack("<I", tag) + GUID_TAIL
    return struct.pack("<HHIIHHHHI", EXTENSIBLE, channels, rate, byte_rate, align, bits, 22, bits, mask) + sub


def write_metadata(src: Path, dst: Path, metadata: WavMetadata) -> None:
    """Copy the WAV or RF64 file ``src`` to ``dst`` with ``metadata``: its ``bext`` and ``iXML``
    (any old ones dropped) after ``fmt ``, and ``fmt `` made WAVE_FORMAT_EXTENSIBLE with its
    channel mask when it has one. ``dst`` is RF64 when it would pass 4 GiB."""
    size = src.stat().st_size
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        _, chunks = _chunks(fin, size)
        extra = (metadata.bext.chunk() if metadata.bext else b"") + \
            (_chunk(b"iXML", metadata.ixml) if metadata.ixml is not None else b"")
        parts: list[tuple[bytes, bytes | tuple[int, int]]] = []
        for cid, offset, length in chunks:
            if cid in (b"ds64", b"bext", b"iXML"):
                continue
            if cid == b"fmt ":
                fin.seek(offset)
                body = fin.read(length)
                if metadata.channel_mask is not None:
                    body = extensible_fmt(body, metadata.channel_mask)
                parts.append((cid, body))
                parts.append((b"", extra))
            else:
                parts.append((cid, (offset, length)))
        total = 4 + sum(len(p) if not cid else 8 + _size(p) + _size(p) % 2 for cid, p in parts)
        data_size = next((p[1] for cid, p in parts if cid == b"data"), 0)
        rf64 = total > RIFF_LIMIT or data_size > RIFF_LIMIT
        if rf64:
            total += 8 + 28
            fout.write(b"RF64" + struct.pack("<I", RIFF_MAX) + b"WAVE")
            fout.write(b"ds64" + struct.pack("<IQQQI", 28, total, data_size, _frames(parts, data_size), 0))
        else:
            fout.write(b"RIFF" + struct.pack("<I", total) + b"WAVE")
        for cid, part in parts:
            if not cid:
                fout.write(part)
            elif isinstance(part, bytes):
                fout.write(_chunk(cid, part))
            else:
                length = part[1]
                fout.write(cid + struct.pack("<I", RIFF_MAX if rf64 and cid == b"data" else length))
                _copy(fin, fout, part[0], length)
                fout.write(b"\0" * (length % 2))


def _size(part: bytes | tuple[int, int]) -> int:
    return len(part) if isinstance(part, bytes) else part[1]


def _frames(parts: list, data_size: int) -> int:
    fmt = next(p for cid, p in parts if cid == b"fmt ")
    align = struct.unpack("<H", fmt[12:14])[0]
    return data_size // max(align, 1)


def _copy(fin: BinaryIO, fout: BinaryIO, offset: int, left: int) -> None:
    fin.seek(offset)
    while left:
        data = fin.read(min(COPY_BYTES, left))
        if not data:
            raise OSError("the source WAV ended early")
        fout.write(data)
        left -= len(data)
