"""True-peak detection where it is easy to get wrong: hard onsets at chunk edges, streaming."""

import math

import numpy as np
import pytest

from dxkit.deliver.limiter import TruePeakLimiter
from dxkit.deliver.meter import Meter
from scipy.signal import upfirdn

from dxkit.deliver.truepeak import chunk_peaks, envelope, interpolator, true_peak


def nyquist_burst(total: int, start: int, length: int = 400) -> np.ndarray:
    """Silence, then an alternating (Nyquist) burst with a hard onset at ``start`` and a slow
    fade-out: its largest interpolated value (+2.2 dB) lies just before the onset, in a
    stretch whose samples are all zero."""
    x = np.zeros((1, total), np.float32)
    fade = np.ones(length)
    fade[length // 2:] = np.cos(np.linspace(0, np.pi / 2, length - length // 2)) ** 2
    x[0, start:start + length] = np.where(np.arange(length) % 2 == 0, 0.5, -0.5) * fade
    return x


@pytest.mark.parametrize("length", [200, 3000])  # both ways ``envelope`` computes
@pytest.mark.parametrize("rate", [44100, 96000, 192000])
def test_envelope_is_the_zero_stuffed_filter(rate, length):
    """The envelope equals oversampling done the textbook way (scipy's upfirdn: zero-stuff,
    filter with the taps), read at every phase and channel."""
    interp = interpolator(rate)
    x = np.random.default_rng(1).standard_normal((2, length)).astype(np.float32)
    c, f = interp.context, interp.factor
    up = upfirdn(interp.taps, x.astype(np.float64), up=f, axis=-1)
    start = (len(interp.taps) - 1) // 2 + f * c
    inner = x.shape[1] - 2 * c
    reference = np.abs(up[:, start:start + f * inner]).reshape(2, inner, f).max(axis=(0, 2))
    assert np.allclose(envelope(x, interp), reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("start", [13 + 1024, 13 + 1024 + 3, 1024, 13 + 1024 + 63])
def test_skipping_never_misses_a_peak(start):
    interp = interpolator(48000)
    x = nyquist_burst(4096, start)
    exact = chunk_peaks(x, interp, 64, floor=0.0).max()
    fast = chunk_peaks(x, interp, 64, floor=0.3).max()
    assert fast == pytest.approx(exact, rel=1e-9)


def test_meter_finds_onset_peak_after_the_floor_is_set():
    # The first block sets the running maximum; the burst's ringing must still be found later.
    rate = 48000
    first = 0.3 * np.sin(2 * np.pi * 1000 * np.arange(4 * rate) / rate)[None, :].astype(np.float32)
    second = nyquist_burst(4 * rate, 64 * 100 - 13)
    whole = np.concatenate((first, second), axis=1)
    m = Meter(rate, 1)
    m.add(first)
    m.add(second)
    assert m.result().true_peak_dbtp == pytest.approx(20 * math.log10(true_peak(whole, rate)), abs=1e-6)


@pytest.mark.parametrize("offset", [0, 5, 13, 16 * 50])
def test_limiter_holds_the_ceiling_on_hard_onsets(offset):
    rate = 48000
    x = np.concatenate((nyquist_burst(rate, 16 * 1000 + offset) * 1.8, nyquist_burst(rate, 333)), axis=1)
    lim = TruePeakLimiter(-1.0, rate, 1)
    y = np.concatenate((lim.push(x), lim.flush()), axis=1)
    assert y.shape == x.shape
    assert 20 * math.log10(true_peak(y, rate)) <= -1.0 + 1e-3


def test_limiter_streaming_equals_whole_file():
    rate = 48000
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((2, 5 * rate)) * 0.4).astype(np.float32)
    whole = TruePeakLimiter(-2.0, rate, 2)
    a = np.concatenate((whole.push(x), whole.flush()), axis=1)
    parts = TruePeakLimiter(-2.0, rate, 2)
    pieces = [parts.push(x[:, i:i + 7919]) for i in range(0, x.shape[1], 7919)] + [parts.flush()]
    b = np.concatenate(pieces, axis=1)
    assert np.array_equal(a, b)
    assert 20 * math.log10(true_peak(a, rate)) <= -2.0 + 1e-3


def test_limiter_releases_slowly():
    # One loud burst in a steady tone: after the hold, the gain comes back at about 60 dB/s
    # (the default), not in one step.
    rate = 48000
    t = np.arange(2 * rate) / rate
    x = (0.5 * np.sin(2 * np.pi * 440 * t))[None, :].astype(np.float32)
    x[0, rate // 2:rate // 2 + 480] *= 3.0  # 10 ms at +3.5 dBFS: 4.5 dB over the ceiling
    lim = TruePeakLimiter(-1.0, rate, 1)
    y = np.concatenate((lim.push(x), lim.flush()), axis=1)
    gain_db = 20 * np.log10(np.maximum(np.abs(y[0]), 1e-9) / np.maximum(np.abs(x[0]), 1e-9))
    crest = np.abs(x[0]) > 0.3  # judge the gain where the tone is near its crest
    after = np.flatnonzero(crest & (np.arange(x.shape[1]) > rate // 2 + 480 + int(0.03 * rate)))
    recovery = gain_db[after[(after < rate)]]
    assert recovery.min() < -1.0  # still reduced just after the hold ...
    times = after[after < rate] / rate
    slope = np.diff(recovery) / np.maximum(np.diff(times), 1e-9)
    assert slope.max() < 70.0  # ... and rising no faster than about 60 dB/s
    assert gain_db[crest & (np.arange(x.shape[1]) > rate + rate // 2)].min() > -0.01  # back to unity
