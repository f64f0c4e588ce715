"""The restored file as it is written: the channels the networks restored (at 48 kHz, brought
back to the file's rate), and every other channel exactly as it came in, sample-aligned.

``--spec none`` writes the input's own rate and bit depth (or the depth asked for), so the
file replaces the original in its session sample for sample: restored channels are converted
back with the resampler that conformed them and dithered to the depth (TPDF, as delivery does);
channels passed through are the input's samples, quantised without dither to the grid they came
on. Before a delivery, the restored file is a 48 kHz float WAV.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soxr

from dxkit.deliver.audio import AudioInfo
from dxkit.deliver.encode import Encoder
from dxkit.deliver.specs import Output

RATE = 48000
DEPTHS = {"16": 16, "24": 24, "float": 32}  # --bit-depth; 32 is float in Output
SAME_DEPTH = {"PCM_16": 16, "PCM_24": 24, "FLOAT": 32, "DOUBLE": 32, "PCM_32": 32}  # by input subtype; else 24


def output_depth(info: AudioInfo, choice: str = "same") -> int:
    """The bit depth to write (32: float): the input's (24 for 8-bit or lossy input) or ``choice``."""
    if choice == "same":
        return SAME_DEPTH.get(info.subtype, 24)
    return DEPTHS[choice]


class RestoredWriter:
    """Writes ``channels`` channels at ``rate``: those in ``restored`` come from ``restored()``
    at 48 kHz, the rest from ``through()`` at ``rate``; exactly ``frames`` frames in all."""

    def __init__(self, path: Path, channels: int, restored: tuple[int, ...], rate: int, depth: int, frames: int,
                 exact: bool = True):
        """``exact``: the channels passed through are on the output's grid already (as deep as
        the input), so they are written without dither."""
        self.restored_channels = list(restored)
        self.through_channels = [c for c in range(channels) if c not in restored]
        self._exact = self.through_channels if exact else []
        self.frames = frames
        self.written = 0
        self._resampler = None if rate == RATE else soxr.ResampleStream(
            RATE, rate, len(restored), dtype="float32", quality="VHQ")
        self._restored = np.zeros((len(restored), 0), np.float32)
        self._through = np.zeros((len(self.through_channels), 0), np.float32)
        self._encoder = Encoder(path, Output("wav", rate, (rate,), depth), channels, frames)
        self._open = True

    def restored(self, block: np.ndarray) -> None:
        """The next samples of the restored channels, ``[len(restored), T]`` at 48 kHz."""
        if self._resampler is not None:
            block = self._resampler.resample_chunk(np.ascontiguousarray(block.T)).T
        self._restored = np.concatenate((self._restored, block), axis=1)
        self._write()

    def through(self, block: np.ndarray) -> None:
        """The next samples of the channels passed through, ``[C, T]`` at the output rate (all of
        the input's channels; the restored ones are ignored here)."""
        if self.through_channels:
            self._through = np.concatenate((self._through, block[self.through_channels]), axis=1)
            self._write()

    def _write(self, final: bool = False) -> None:
        n = self._restored.shape[1] if not self.through_channels else min(self._restored.shape[1], self._through.shape[1])
        if final:
            n = self.frames - self.written
            self._restored = _fit(self._restored, n)
            self._through = _fit(self._through, n)
        n = min(n, self.frames - self.written)
        if n <= 0:
            return
        out = np.empty((len(self.restored_channels) + len(self.through_channels), n), np.float32)
        out[self.restored_channels] = self._restored[:, :n]
        if self.through_channels:
            out[self.through_channels] = self._through[:, :n]
        self._encoder.write(out, exact=self._exact)
        self._restored, self._through = self._restored[:, n:], self._through[:, n:]
        self.written += n

    def close(self) -> None:
        """Flush the resampler, make the file exactly ``frames`` long, and close it."""
        if self._resampler is not None:
            tail = self._resampler.resample_chunk(np.zeros((0, len(self.restored_channels)), np.float32), last=True)
            self._restored = np.concatenate((self._restored, tail.T), axis=1)
        self._write(final=True)
        self._open = False
        self._encoder.close()

    def discard(self) -> None:
        """Close the file if ``close`` did not (its caller removes it)."""
        if self._open:
            self._open = False
            self._encoder.close()


def _fit(x: np.ndarray, n: int) -> np.ndarray:
    """``x`` cut or padded with zeros to ``n`` samples (a resampler may end a few short)."""
    return x[:, :n] if x.shape[1] >= n else np.pad(x, ((0, 0), (0, n - x.shape[1])))
