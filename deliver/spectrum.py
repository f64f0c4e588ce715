"""A coarse spectrogram collected while a file streams past, for the QC report's pictures.

It keeps a fixed number of columns whatever the file's length: each column is the mean power
spectrum of a few Hann-windowed frames taken around its centre.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COLUMNS = 240
FRAMES_PER_COLUMN = 4
FFT_SIZE = 2048


@dataclass(frozen=True)
class Spectrogram:
    """Power in dB, shape ``[frequencies, columns]``, with its axes."""

    times_s: np.ndarray
    freqs_hz: np.ndarray
    power_db: np.ndarray


class SpectrumSketch:
    """Collect a ``Spectrogram`` from ``[C, T]`` blocks of a signal of known length."""

    def __init__(self, sample_rate: int, total_frames: int):
        self.sample_rate = sample_rate
        self._nfft = min(FFT_SIZE, max(16, total_frames))
        columns = max(1, min(COLUMNS, total_frames // self._nfft))
        width = total_frames / columns
        offsets = (np.arange(FRAMES_PER_COLUMN) + 0.5) / FRAMES_PER_COLUMN * width
        starts = (np.arange(columns)[:, None] * width + offsets[None, :] - self._nfft / 2)
        self._starts = np.clip(starts.astype(np.int64), 0, max(0, total_frames - self._nfft)).ravel()
        self._columns = columns
        self._width = width
        self._power = np.zeros((self._nfft // 2 + 1, self._starts.size))
        self._next = 0
        self._tail = np.zeros(0, np.float32)
        self._tail_start = 0
        self._window = np.hanning(self._nfft)

    def add(self, block: np.ndarray) -> None:
        mono = block.mean(axis=0)
        buf = np.concatenate((self._tail, mono))
        end = self._tail_start + buf.size
        while self._next < self._starts.size and self._starts[self._next] + self._nfft <= end:
            at = self._starts[self._next] - self._tail_start
            frame = buf[at:at + self._nfft] * self._window
            self._power[:, self._next] = np.abs(np.fft.rfft(frame)) ** 2
            self._next += 1
        keep = min(buf.size, self._nfft)
        self._tail = buf[buf.size - keep:]
        self._tail_start = end - keep

    def result(self) -> Spectrogram:
        power = self._power.reshape(self._power.shape[0], self._columns, FRAMES_PER_COLUMN).mean(axis=2)
        norm = (self._window ** 2).sum() * self.sample_rate / 2
        db = 10 * np.log10(power / norm + 1e-20)
        times = (np.arange(self._columns) + 0.5) * self._width / self.sample_rate
        freqs = np.fft.rfftfreq(self._nfft, 1 / self.sample_rate)
        return Spectrogram(times, freqs, db)
