"""Encoders for the delivered file: WAV/BWF and FLAC with TPDF dither, MP3 at a constant bitrate.

All go through libsndfile (python-soundfile). MP3 is LAME inside libsndfile, which writes the
LAME/Info header, so decoders trim the encoder delay and the decoded file keeps its length.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from .errors import OutputError
from .specs import Output

RIFF_LIMIT_BYTES = 0xFFFFFFFF - 1024  # a plain RIFF/WAVE file cannot be larger; beyond: RF64
DITHER_SEED = 20261125  # fixed: rendering the same input twice gives the same file


def mp3_compression_level(kbps: int) -> float:
    """libsndfile's compression level that selects ``kbps`` for MPEG-1 layer III CBR.

    libsndfile (src/mpeg_l3_encode.c) sets bitrate = int(320 - level * 288) at 32-48 kHz;
    aim half a kbps above the wanted rate so the truncation lands on it.
    """
    return (320.0 - kbps - 0.5) / 288.0


class Encoder:
    """Write ``[C, T]`` float32 blocks to a file in the spec's format."""

    def __init__(self, path: Path, output: Output, channels: int, expected_frames: int,
                 name: Path | None = None):
        self.name = name or path  # what error messages call the file (the final output path)
        self.output = output
        self.frames = 0
        self._rng = np.random.default_rng(DITHER_SEED)
        container = output.container
        kwargs: dict = {}
        if container == "mp3":
            if channels > 2:
                raise OutputError(f"{self.name}: MP3 holds at most 2 channels; this file has {channels}")
            fmt, subtype = "MP3", "MPEG_LAYER_III"
            kwargs = {"compression_level": mp3_compression_level(output.bitrate_kbps),
                      "bitrate_mode": "CONSTANT"}
        else:
            subtype = {16: "PCM_16", 24: "PCM_24", 32: "FLOAT"}[output.bit_depth]
            fmt = "FLAC" if container == "flac" else "WAV"
            if fmt == "WAV" and channels == 6:
                # WAVE_FORMAT_EXTENSIBLE, for which libsndfile writes the 5.1 channel mask 0x3F
                # (L R C LFE Ls Rs), so DAWs see a 5.1 file. It writes no mask for 3, 5 or 8
                # channels, and 7.1 would get the wrong one, so those stay plain PCM.
                fmt = "WAVEX"
            size = expected_frames * channels * output.bit_depth // 8
            if fmt in ("WAV", "WAVEX") and size > RIFF_LIMIT_BYTES:
                fmt = "RF64"
        self.riff = fmt in ("WAV", "WAVEX")
        try:
            self._file = sf.SoundFile(str(path), "w", output.sample_rate, channels, subtype,
                                      format=fmt, **kwargs)
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise OutputError(f"{self.name}: cannot open for writing ({exc})") from None

    def write(self, block: np.ndarray) -> None:
        if block.shape[1] == 0:
            return
        depth = self.output.bit_depth
        data = block.T
        if self.output.container != "mp3" and depth in (16, 24):
            data = self._dither(data, depth)
        try:
            self._file.write(data)
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise OutputError(f"{self.name}: write failed ({exc}); is the disk full?") from None
        self.frames += block.shape[1]

    def _dither(self, data: np.ndarray, depth: int) -> np.ndarray:
        # TPDF dither of +/-1 LSB peak (the difference of two uniform variables), then rounding
        # to the target grid (Lipshitz, Wannamaker & Vanderkooy, JAES 1992). The 24-bit grid is
        # written as the top 24 bits of an int32, which libsndfile stores exactly.
        scale = 2.0 ** (depth - 1)
        noise = self._rng.random(data.shape) - self._rng.random(data.shape)
        q = np.clip(np.round(data * scale + noise), -scale, scale - 1)
        if depth == 16:
            return q.astype(np.int16)
        return q.astype(np.int32) << 8

    def close(self) -> None:
        try:
            self._file.close()
        except (sf.LibsndfileError, RuntimeError, OSError) as exc:
            raise OutputError(f"{self.name}: could not finish the file ({exc}); is the disk full?") from None
