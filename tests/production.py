"""Production files as other tools make them, for the tests: a Broadcast WAV whose ``bext`` is
written by ffmpeg, an iXML chunk appended by hand, a channel mask set in ``fmt``, and the bext
fields read back by ffprobe. Nothing here uses dxkit's own chunk code."""

from __future__ import annotations

import json
import struct
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf

HOUR_48K = 3600 * 48000


def ffmpeg_bwf(path: Path, audio: np.ndarray, rate: int, time_reference: int, subtype: str = "PCM_24",
               rf64: bool = False) -> Path:
    """``audio`` ``[C, T]`` as a BWF written by ffmpeg: bext with a description, an originator
    and ``time_reference`` (samples since midnight)."""
    raw = path.with_suffix(".raw.wav")
    sf.write(str(raw), audio.T, rate, subtype=subtype)
    codec = {"PCM_16": "pcm_s16le", "PCM_24": "pcm_s24le", "FLOAT": "pcm_f32le"}[subtype]
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(raw), "-c:a", codec, "-write_bext", "1",
                    "-metadata", f"time_reference={time_reference}", "-metadata", "description=Scene 12 take 3",
                    "-metadata", "originator=SoundDev", "-metadata", "origination_date=2026-11-30",
                    "-metadata", "origination_time=10:00:00", *(["-rf64", "always"] if rf64 else []),
                    str(path)], check=True)
    raw.unlink()
    return path


def ixml(tracks: list[str], time_reference: int | None = None) -> bytes:
    """An iXML document with a track list (as recorders write it)."""
    items = "".join(f"<TRACK><CHANNEL_INDEX>{i + 1}</CHANNEL_INDEX><INTERLEAVE_INDEX>{i + 1}</INTERLEAVE_INDEX>"
                    f"<NAME>{name}</NAME></TRACK>" for i, name in enumerate(tracks))
    bext = "" if time_reference is None else (
        f"<BEXT><BWF_TIME_REFERENCE_LOW>{time_reference & 0xFFFFFFFF}</BWF_TIME_REFERENCE_LOW>"
        f"<BWF_TIME_REFERENCE_HIGH>{time_reference >> 32}</BWF_TIME_REFERENCE_HIGH></BEXT>")
    return (f'<?xml version="1.0" encoding="UTF-8"?><BWFXML><IXML_VERSION>2.10</IXML_VERSION>'
            f"<SCENE>12</SCENE><TAKE>3</TAKE><TRACK_LIST><TRACK_COUNT>{len(tracks)}</TRACK_COUNT>{items}"
            f"</TRACK_LIST>{bext}</BWFXML>").encode()


def append_chunk(path: Path, cid: bytes, body: bytes) -> None:
    """Add a chunk at the end of a RIFF/WAVE file and fix the RIFF size."""
    data = bytearray(path.read_bytes())
    assert data[:4] == b"RIFF"
    data += cid + struct.pack("<I", len(body)) + body + (b"\0" if len(body) % 2 else b"")
    data[4:8] = struct.pack("<I", len(data) - 8)
    path.write_bytes(bytes(data))


def chunks(path: Path) -> dict[bytes, bytes]:
    """The chunks of a RIFF/WAVE file by id (the first of each; data left out)."""
    data = path.read_bytes()
    out, pos = {}, 12
    while pos + 8 <= len(data):
        cid, size = struct.unpack("<4sI", data[pos:pos + 8])
        if cid != b"data":
            out.setdefault(cid, data[pos + 8:pos + 8 + size])
        pos += 8 + size + size % 2
    return out


def set_mask(path: Path, mask: int) -> None:
    """Make ``fmt `` WAVE_FORMAT_EXTENSIBLE with ``mask`` (PCM), in place (the file gets longer)."""
    data = path.read_bytes()
    pos = 12
    while True:
        cid, size = struct.unpack("<4sI", data[pos:pos + 8])
        if cid == b"fmt ":
            break
        pos += 8 + size + size % 2
    tag, channels, rate, byte_rate, align, bits = struct.unpack("<HHIIHH", data[pos + 8:pos + 24])
    guid = struct.pack("<IHH", 1, 0, 0x10) + bytes.fromhex("800000aa00389b71")
    fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, byte_rate, align, bits, 22, bits, mask) + guid
    new = bytearray(data[:pos] + b"fmt " + struct.pack("<I", len(fmt)) + fmt + data[pos + 8 + size:])
    new[4:8] = struct.pack("<I", len(new) - 8)
    path.write_bytes(bytes(new))


def ffprobe_tags(path: Path) -> dict:
    """The format tags ffprobe reads (bext fields appear as description, originator,
    time_reference, coding_history...)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
                         check=True, capture_output=True, text=True)
    data = json.loads(out.stdout)
    return {**data["format"].get("tags", {}), "channel_layout": data["streams"][0].get("channel_layout"),
            "sample_rate": int(data["streams"][0]["sample_rate"]), "channels": data["streams"][0]["channels"]}
