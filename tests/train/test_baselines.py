"""Metrics and baselines of `dxkit eval`: the metrics against numbers known by construction,
the baselines for length, alignment (cross-correlation peak at lag 0) and doing their job."""

import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import butter, correlate, fftconvolve, sosfiltfilt

from dxkit.train import baselines
from dxkit.train.baselines import BASELINES, deplosive_gain, dsp_deplosive
from dxkit.train.metrics import dnsmos, low_band_db, pesq_wb, pop_reduction_db, si_sdr, stoi

SR = 48000
DIALOGUE = Path(__file__).resolve().parents[2] / "data" / "examples" / "dialogue.flac"
needs_ffmpeg = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not on PATH")


def voiced(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """Speech-like voiced signal [T] at -26 dBFS RMS: 39 harmonics of a wandering f0
    (105-165 Hz, so never periodic and the cross-correlation has one peak), vowel-like
    formant bumps at 700 and 1500 Hz, 4 Hz syllable modulation."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 130 + 25 * np.sin(2 * np.pi * 0.7 * t) + 10 * np.sin(2 * np.pi * 2.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = np.zeros_like(t)
    for k in range(1, 40):
        fk = 130.0 * k
        amp = (1 + 2 * np.exp(-((fk - 700) / 300) ** 2) + np.exp(-((fk - 1500) / 400) ** 2)) / k
        x += amp * np.sin(k * phase + rng.uniform(0, 2 * np.pi))
    x *= np.sin(np.pi * 4 * t) ** 2
    return (0.05 * x / np.sqrt(np.mean(x ** 2))).astype(np.float32)


def speech(seconds: float = 3.0) -> np.ndarray:
    """The first seconds of the repo's example dialogue (real speech, 48 kHz mono)."""
    x, rate = sf.read(str(DIALOGUE), dtype="float32", frames=int(seconds * SR))
    assert rate == SR
    return x


def white(like: np.ndarray, snr_db: float, seed: int = 1) -> np.ndarray:
    """White noise scaled to ``snr_db`` below ``like``'s power."""
    n = np.random.default_rng(seed).standard_normal(like.size)
    n *= np.sqrt(np.mean(like.astype(np.float64) ** 2) / np.mean(n ** 2) * 10 ** (-snr_db / 10))
    return n.astype(np.float32)


def lag_of(reference: np.ndarray, output: np.ndarray, max_lag: int = 4000) -> int:
    """Lag (samples) of the cross-correlation peak; positive = output late."""
    c = correlate(output.astype(np.float64), reference.astype(np.float64), mode="full", method="fft")
    lags = np.arange(-reference.size + 1, reference.size)
    near = np.abs(lags) <= max_lag
    return int(lags[near][np.argmax(c[near])])


def with_pops(clean: np.ndarray, times_s, level_db: float = 15.0, guard_s: float = 0.05, seed: int = 0):
    """``clean`` plus 20 ms noise bursts low-passed at 150 Hz (4th-order, zero-phase, Hann
    envelope) whose RMS is ``level_db`` above the clean signal's RMS. Returns the degraded
    signal and the pop mask: each burst plus ``guard_s`` on each side, because the 20-200 Hz
    band filter of the metric spreads a burst's energy by tens of ms."""
    rng = np.random.default_rng(seed)
    sos = butter(4, 150, "lowpass", fs=SR, output="sos")
    n = int(0.02 * SR)
    guard = int(guard_s * SR)
    rms = np.sqrt(np.mean(clean.astype(np.float64) ** 2))
    out = clean.astype(np.float64).copy()
    mask = np.zeros(clean.size, dtype=bool)
    for t in times_s:
        burst = sosfiltfilt(sos, rng.standard_normal(n + 2000))[1000:1000 + n] * np.hanning(n)
        burst *= rms * 10 ** (level_db / 20) / np.sqrt(np.mean(burst ** 2))
        i = int(t * SR)
        out[i:i + n] += burst
        mask[i - guard:i + n + guard] = True
    return out.astype(np.float32), mask


# --- metrics ---------------------------------------------------------------------------------

def test_si_sdr_of_an_exact_copy_is_very_large():
    x = voiced()
    assert si_sdr(x, x.copy()) > 200


@pytest.mark.parametrize("snr_db", [-5.0, 0.0, 10.0, 25.0])
def test_si_sdr_equals_the_snr_of_added_noise(snr_db):
    ref = voiced().astype(np.float64)
    noise = white(ref, snr_db).astype(np.float64)
    # Make the noise zero-mean and orthogonal to the zero-mean reference, so that the
    # optimal scale is exactly 1 and SI-SDR is exactly the SNR (Le Roux et al. 2019, eq. 2).
    r = ref - ref.mean()
    noise -= noise.mean()
    noise -= np.dot(noise, r) / np.dot(r, r) * r
    noise *= np.sqrt(np.dot(r, r) / np.dot(noise, noise) * 10 ** (-snr_db / 10))
    assert si_sdr(ref, ref + noise) == pytest.approx(snr_db, abs=0.1)


def test_si_sdr_is_invariant_to_scale_and_offset_but_not_to_noise():
    ref = voiced()
    est = ref + white(ref, 10.0)
    base = si_sdr(ref, est)
    assert si_sdr(ref, 0.2 * est) == pytest.approx(base, abs=1e-6)
    assert si_sdr(7.0 * ref, est + 0.01) == pytest.approx(base, abs=1e-6)
    assert si_sdr(ref, ref + white(ref, 0.0)) < base - 5


def test_si_sdr_refuses_signals_of_different_lengths():
    with pytest.raises(ValueError):
        si_sdr(np.ones(100), np.ones(101))


def test_pesq_and_stoi_rank_the_cleaner_estimate_higher():
    ref = voiced()
    clean_ish, noisy = ref + white(ref, 20.0), ref + white(ref, 0.0)
    assert pesq_wb(ref, clean_ish, SR) > pesq_wb(ref, noisy, SR) + 0.3
    assert 0.0 <= stoi(ref, noisy, SR) < stoi(ref, clean_ish, SR) <= 1.0


def test_pesq_returns_nan_when_the_reference_has_no_utterance():
    silence = np.zeros(3 * SR, dtype=np.float32)
    assert math.isnan(pesq_wb(silence, silence + white(voiced(), 40.0), SR))


@pytest.mark.parametrize("metric", [lambda x, r: pesq_wb(x, x, r), lambda x, r: stoi(x, x, r),
                                    lambda x, r: dnsmos(x, r)])
def test_metrics_refuse_rates_other_than_48k(metric):
    with pytest.raises(ValueError):
        metric(voiced(1.0), 44100)


def test_dnsmos_gives_three_scores_between_1_and_5_and_hears_noise():
    x = speech()
    scores = dnsmos(x, SR)
    assert set(scores) == {"ovrl", "sig", "bak"}
    assert all(1.0 <= v <= 5.0 for v in scores.values())
    assert dnsmos(x + white(x, 0.0), SR)["bak"] < scores["bak"] - 1.0


def test_low_band_db_reads_a_100_hz_sine_and_ignores_1_khz():
    t = np.arange(SR) / SR
    mask = np.zeros(SR, dtype=bool)
    mask[SR // 4:3 * SR // 4] = True
    # A sine of amplitude A has mean power A^2 / 2; the zero-phase band-pass passes 100 Hz
    # at ~0 dB (|H|^2 = 0.9998 for this design), so the masked sum is N A^2 / 2.
    expected = 10 * math.log10(mask.sum() * 0.5 ** 2 / 2)
    assert low_band_db(0.5 * np.sin(2 * np.pi * 100 * t), SR, mask) == pytest.approx(expected, abs=0.1)
    assert low_band_db(0.5 * np.sin(2 * np.pi * 1000 * t), SR, mask) < expected - 60


def test_pop_reduction_db_reads_nothing_for_doing_nothing_and_everything_for_the_clean_signal():
    clean = voiced()
    degraded, mask = with_pops(clean, [0.5, 1.5, 2.5])
    untouched = pop_reduction_db(clean, degraded, degraded, SR, mask)
    assert untouched["pop_removed_db"] == pytest.approx(0.0, abs=1e-9)
    assert untouched["outside_change_db"] == pytest.approx(0.0, abs=1e-9)
    assert untouched["pop_above_clean_db"] > 6.0  # the pops are louder than the speech under them
    perfect = pop_reduction_db(clean, degraded, clean, SR, mask)
    assert perfect["pop_removed_db"] == math.inf
    assert perfect["pop_above_clean_db"] == pytest.approx(0.0, abs=1e-9)
    silenced = pop_reduction_db(clean, degraded, np.where(mask, 0.5 * clean, clean).astype(np.float32), SR, mask)
    assert silenced["pop_above_clean_db"] < -3.0  # speech taken away with the pop reads below clean
    half = pop_reduction_db(clean, degraded, (clean + (degraded - clean) / 2).astype(np.float32), SR, mask)
    assert half["pop_removed_db"] == pytest.approx(6.02, abs=0.05)


# --- baselines -------------------------------------------------------------------------------

def test_baselines_are_listed_in_order():
    assert list(BASELINES) == ["passthrough", "noisereduce", "afftdn", "rnnoise",
                               "deepfilternet3", "wpe", "dsp_deplosive"]


# RNNoise and DeepFilterNet3 are trained on speech and treat the synthetic voice as noise,
# so their alignment is checked on real speech; the others on the synthetic voice.
_REAL_SPEECH = {"rnnoise", "deepfilternet3"}
_BASELINE_PARAMS = [pytest.param(name, marks=needs_ffmpeg) if name == "afftdn" else name
                    for name in BASELINES]


@pytest.mark.parametrize("name", _BASELINE_PARAMS)
def test_baseline_keeps_length_and_alignment(name):
    # 2.5 s + 123 samples: not a multiple of any tool's frame or hop.
    n = int(2.5 * SR) + 123
    x = (speech() if name in _REAL_SPEECH else voiced())[:n]
    x = x + white(x, 40.0)
    y = BASELINES[name](x, SR)
    assert y.shape == x.shape and y.dtype == np.float32
    assert np.all(np.isfinite(y))
    assert abs(lag_of(x, y)) <= 1


@pytest.mark.parametrize("name", _BASELINE_PARAMS)
def test_baseline_refuses_other_rates(name):
    with pytest.raises(ValueError):
        BASELINES[name](voiced(0.5), 16000)


@pytest.mark.parametrize("name, signal", [("noisereduce", voiced), ("rnnoise", speech),
                                          ("deepfilternet3", speech)])
def test_denoiser_improves_si_sdr_on_white_noise_at_0_db(name, signal):
    clean = signal()
    noisy = clean + white(clean, 0.0)
    assert si_sdr(clean, BASELINES[name](noisy, SR)) > si_sdr(clean, noisy) + 3.0


@needs_ffmpeg
def test_afftdn_reduces_noise_at_its_default_noise_floor():
    # afftdn's defaults assume a noise floor of -50 dBFS and remove up to 12 dB: noise far
    # above that floor is left alone, so the test puts the noise at -50 dBFS RMS.
    clean = speech()
    noise = np.random.default_rng(2).standard_normal(clean.size).astype(np.float32) * 10 ** (-50 / 20)
    assert si_sdr(clean, baselines.afftdn(clean + noise, SR)) > si_sdr(clean, clean + noise) + 3.0


def test_afftdn_says_so_when_ffmpeg_is_missing(monkeypatch):
    monkeypatch.setattr(baselines.shutil, "which", lambda name: None)
    with pytest.raises(RuntimeError, match="ffmpeg"):
        baselines.afftdn(voiced(0.5), SR)


def test_wpe_removes_late_reverberation():
    dry = speech()
    rng = np.random.default_rng(3)
    t = np.arange(int(0.36 * SR)) / SR
    rir = rng.standard_normal(t.size) * np.exp(-6.9 * t / 0.3)  # RT60 0.3 s, exponential tail
    rir[0] = np.sqrt(np.sum(rir[1:] ** 2))  # direct path as strong as the reverberation
    wet = fftconvolve(dry, rir)[:dry.size].astype(np.float32)
    # WPE keeps what arrives within its prediction delay (6 frames of 8 ms) and removes the
    # predictable late tail, so the target is the dry signal through the first 48 ms.
    early = fftconvolve(dry, rir[:baselines.WPE_DELAY * baselines.WPE_STFT_SHIFT])[:dry.size]
    assert si_sdr(early, baselines.wpe(wet, SR)) > si_sdr(early, wet) + 1.0


@pytest.mark.parametrize("signal", [voiced, speech])
def test_dsp_deplosive_removes_pops_and_leaves_the_rest(signal):
    clean = signal()
    degraded, mask = with_pops(clean, [0.4, 1.1, 1.7, 2.5])
    result = pop_reduction_db(clean, degraded, dsp_deplosive(degraded, SR), SR, mask)
    assert result["pop_removed_db"] > 6.0
    assert result["outside_change_db"] < 1.0


def test_dsp_deplosive_leaves_pop_free_speech_untouched():
    for x in (voiced(), speech()):
        assert not deplosive_gain(x, SR).any()
        np.testing.assert_array_equal(dsp_deplosive(x, SR), x)
