"""True-peak limiter: look-ahead, oversampled detection, gain that is always down in time.

Design (a standard look-ahead brick-wall limiter, written from the idea, not from code):
1. detect the true peak per 16-sample chunk with the BS.1770 interpolator (truepeak.py);
2. required gain g = min(1, ceiling / peak) per sample;
3. a running minimum over [n - hold, n + lookahead - 1] holds each reduction for the
   look-ahead before it and the hold after it;
4. two backward moving averages (together shorter than the look-ahead) round the corners;
5. the release: the gain rises no faster than a set number of dB per second (60 by default),
   so a reduction fades out over tens of milliseconds instead of snapping back.
Every value averaged in step 4 at a peak's sample already contains that peak's reduction
(step 3 looked ahead far enough), so the gain at the peak is at or below what the peak needs;
step 5 only lowers the gain further.
Because the gain moves slowly against the interpolator's length, the oversampled output peak
follows the gain; the closed loop in delivery.py measures the written file to confirm it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d

from .truepeak import chunk_peaks, interpolator

DETECT_CHUNK = 16
HOLD_MS = 30.0
RELEASE_DB_PER_S = 60.0
RELEASE_WINDOW_S = 0.3  # the release slope is exact for reductions up to 0.3 s x rate (18 dB)


class Lookahead:
    """Run ``fn`` over a stream when each output sample needs ``context`` samples either side.

    ``fn(segment, start)`` maps a segment ``[C, T]`` that begins at stream sample ``start``
    (negative inside the leading padding) to ``[C, T]``; only the middle part, with full
    context, is kept. The stream is padded with zeros at both ends, so pushing a file block by block
    gives exactly what one call on the whole zero-padded file would give.
    """

    def __init__(self, fn: Callable[[np.ndarray, int], np.ndarray], context: int, channels: int):
        self._fn = fn
        self._context = context
        self._start = -context
        self._buffer = np.zeros((channels, context), dtype=np.float32)

    def push(self, block: np.ndarray) -> np.ndarray:
        """Feed a block; return what is ready (may be empty)."""
        self._buffer = np.concatenate((self._buffer, block.astype(np.float32, copy=False)), axis=1)
        return self._emit()

    def flush(self) -> np.ndarray:
        """End of stream: return the rest."""
        pad = np.zeros((self._buffer.shape[0], self._context), dtype=np.float32)
        self._buffer = np.concatenate((self._buffer, pad), axis=1)
        return self._emit()

    def _emit(self) -> np.ndarray:
        c = self._context
        ready = self._buffer.shape[1] - 2 * c
        if ready <= 0:
            return self._buffer[:, :0]
        out = self._fn(self._buffer, self._start)[:, c:c + ready]
        self._buffer = self._buffer[:, ready:]
        self._start += ready
        return out


def _odd(n: int) -> int:
    return n if n % 2 else n + 1


def _largest_odd(n: int) -> int:
    return max(1, n if n % 2 else n - 1)


def predicted_gain_db(peak_db: np.ndarray, ceiling_dbtp: float, step_s: float,
                      hold_ms: float = HOLD_MS, release_db_per_s: float = RELEASE_DB_PER_S) -> np.ndarray:
    """What ``TruePeakLimiter`` will do, roughly, on a coarse grid: its gain (dB, <= 0) per step
    of ``step_s`` seconds, given each step's peak ``peak_db``. The reduction a step needs is
    held over the look-ahead (the step before) and the hold (the steps after), then released
    at the limiter's rate. It plans a render's gain (delivery.py) before the limiter runs;
    the render itself is measured."""
    need = np.minimum(0.0, ceiling_dbtp - peak_db)
    after = int(np.ceil(hold_ms / 1000 / step_s))
    held = minimum_filter1d(need, after + 2, origin=after - (after + 2) // 2, mode="nearest") \
        if need.size else need
    # The release: the lowest of every earlier gain plus the rise allowed since then.
    ramp = np.arange(held.size) * release_db_per_s * step_s
    return np.minimum.accumulate(held - ramp) + ramp if held.size else held


class TruePeakLimiter:
    """Stream ``[C, T]`` blocks through a true-peak limiter at ``ceiling_dbtp``."""

    def __init__(self, ceiling_dbtp: float, sample_rate: int, channels: int,
                 lookahead_ms: float = 5.0, hold_ms: float = HOLD_MS, release_db_per_s: float = RELEASE_DB_PER_S):
        self.ceiling = 10 ** (ceiling_dbtp / 20)
        self._interp = interpolator(sample_rate)
        look = max(3, int(round(lookahead_ms * sample_rate / 1000)))
        hold = max(0, int(round(hold_ms * sample_rate / 1000)))
        self._min_size = _odd(look + hold)  # window [n - hold, n + look - 1], one more if padded
        self._min_origin = hold - self._min_size // 2
        # Two odd backward averages whose spans add up to at most look + 1 (see module doc).
        self._avg1 = _largest_odd((look + 1) // 2)
        self._avg2 = _largest_odd(look + 1 - self._avg1)
        self._release = release_db_per_s / sample_rate  # dB per sample
        self._release_size = _odd(int(round(RELEASE_WINDOW_S * sample_rate)))
        context = (self._interp.context + self._min_size + self._avg1 + self._avg2 + DETECT_CHUNK
                   + self._release_size)
        self._stream = Lookahead(self._process, context, channels)
        self.max_reduction_db = 0.0

    def push(self, block: np.ndarray) -> np.ndarray:
        return self._stream.push(block)

    def flush(self) -> np.ndarray:
        return self._stream.flush()

    def _process(self, segment: np.ndarray, start: int) -> np.ndarray:
        ctx = self._interp.context
        # Detection chunks sit on a grid fixed to the stream, so block sizes do not change it.
        shift = -(start + ctx) % DETECT_CHUNK
        peaks = chunk_peaks(segment[:, shift:], self._interp, DETECT_CHUNK, self.ceiling)
        if peaks.size == 0 or peaks.max() <= self.ceiling:
            return segment
        needed = np.ones(segment.shape[1])
        inner = segment.shape[1] - shift - 2 * ctx
        per_chunk = np.minimum(1.0, self.ceiling / np.maximum(peaks, 1e-12))
        needed[ctx + shift:ctx + shift + inner] = np.repeat(per_chunk, DETECT_CHUNK)[:inner]
        gain = minimum_filter1d(needed, self._min_size, origin=self._min_origin, mode="nearest")
        for size in (self._avg1, self._avg2):
            gain = uniform_filter1d(gain, size, origin=size // 2, mode="nearest")
        # Release: the gain may rise by at most ``release`` dB per sample, i.e. it is the
        # lowest of every earlier gain (within the window) plus the rise allowed since then.
        # It only ever lowers the gain, so the peak guarantee above still holds.
        ramp = np.arange(gain.size) * self._release
        gain_db = 20 * np.log10(gain) - ramp
        size = self._release_size
        gain_db = minimum_filter1d(gain_db, size, origin=size // 2, mode="nearest") + ramp
        gain = 10 ** (gain_db / 20)
        self.max_reduction_db = max(self.max_reduction_db, float(-20 * np.log10(gain.min())))
        return (segment * gain).astype(np.float32)
