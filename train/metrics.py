"""Speech quality metrics for `dxkit eval`: SI-SDR, PESQ, STOI, DNSMOS and plosive-pop energy.

Signal convention (this module and ``baselines.py``): one mono signal is a 1-D float32 array
``[T]``; the sample rate travels with it as an int. Reference and estimate must have the same
length and be time-aligned. Functions that need 48 kHz raise ValueError on any other rate.

Third-party meters are imported inside the function that needs them, so importing this module
stays cheap and torch-free.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np
import soxr
from scipy.signal import butter, sosfiltfilt

SAMPLE_RATE = 48000
PESQ_RATE = 16000  # ITU-T P.862.2 wide-band PESQ is defined at 16 kHz
DNSMOS_RATE = 16000
# DNSMOS P.835 scores 9.01 s windows hopped by 1 s (microsoft/DNS-Challenge, DNSMOS/dnsmos_local.py).
DNSMOS_WINDOW_S = 9.01
POP_BAND_HZ = (20.0, 200.0)
BAND_ORDER = 4


def check_mono(signal: np.ndarray, name: str = "signal") -> np.ndarray:
    """Return ``signal`` as a float64 1-D array; raise ValueError if it is not a finite,
    non-empty mono signal ``[T]``."""
    x = np.asarray(signal)
    if x.ndim != 1 or x.size == 0:
        raise ValueError(f"{name}: expected a non-empty mono signal [T], got shape {x.shape}")
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name}: holds NaN or Inf")
    return x


def check_rate(sample_rate: int) -> None:
    """Raise ValueError unless ``sample_rate`` is 48000, the only rate dxkit eval handles."""
    if sample_rate != SAMPLE_RATE:
        raise ValueError(f"sample rate {sample_rate} Hz: dxkit eval works at {SAMPLE_RATE} Hz only")


def _pair(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ref, est = check_mono(reference, "reference"), check_mono(estimate, "estimate")
    if ref.shape != est.shape:
        raise ValueError(f"reference has {ref.size} samples, estimate {est.size}: align them first")
    return ref, est


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB.

    Le Roux, Wisdom, Erdogan, Hershey, "SDR - half-baked or well done?", ICASSP 2019, eqs. 1-2
    (their sec. 2 recommends zero-mean signals): after removing each signal's mean,
    ``alpha = <est, ref> / ||ref||^2``, target ``e_t = alpha * ref``, residual
    ``e_r = est - e_t``, SI-SDR ``= 10 log10(||e_t||^2 / ||e_r||^2)``. An exact copy gives a
    very large finite value: the residual energy is floored at ``eps^2`` times the target's
    (float64 eps), which caps SI-SDR at about 313 dB.

    Raises ValueError for mismatched lengths or an all-constant reference.
    """
    ref, est = _pair(reference, estimate)
    ref = ref - ref.mean()
    est = est - est.mean()
    ref_energy = float(np.dot(ref, ref))
    if ref_energy == 0.0:
        raise ValueError("reference: SI-SDR is undefined for a constant (silent) reference")
    target = (np.dot(est, ref) / ref_energy) * ref
    residual = est - target
    target_energy = float(np.dot(target, target))
    if target_energy == 0.0:  # estimate orthogonal to the reference (or silent)
        return -math.inf
    floor = np.finfo(np.float64).eps ** 2 * target_energy
    return 10.0 * math.log10(target_energy / max(float(np.dot(residual, residual)), floor))


def pesq_wb(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Wide-band PESQ (ITU-T P.862.2) MOS-LQO, about 1.04 to 4.64.

    Both signals are resampled to 16 kHz with soxr (HQ) and scored by the ``pesq`` package.
    Returns nan when P.862 finds no utterance in the reference (``pesq.NoUtterancesError``);
    other PESQ errors propagate.
    """
    import pesq

    check_rate(sample_rate)
    ref, est = _pair(reference, estimate)
    ref16 = soxr.resample(ref, sample_rate, PESQ_RATE, quality="HQ")
    est16 = soxr.resample(est, sample_rate, PESQ_RATE, quality="HQ")
    try:
        return float(pesq.pesq(PESQ_RATE, ref16, est16, "wb"))
    except pesq.NoUtterancesError:
        return math.nan


def stoi(reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
    """Short-time objective intelligibility (Taal et al., IEEE TASLP 19(7), 2011), 0 to 1.

    Computed by ``pystoi`` (classic, not extended STOI), which resamples to 10 kHz itself.
    """
    from pystoi import stoi as pystoi_stoi

    check_rate(sample_rate)
    ref, est = _pair(reference, estimate)
    return float(pystoi_stoi(ref, est, sample_rate, extended=False))


@lru_cache(maxsize=1)
def _dnsmos_session():
    # Loaded once per process and never changed: a read-only cache, not mutable state.
    import onnxruntime
    import speechmos

    model = Path(speechmos.__file__).parent / "dnsmos_models" / "sig_bak_ovr.onnx"
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])


# Third-order polynomials that map the network's raw outputs to P.835 MOS, non-personalised
# model (DNSMOS/dnsmos_local.py, get_polyfit_val; identical in speechmos/dnsmos.py).
_DNSMOS_POLY = {
    "sig": np.poly1d([-0.08397278, 1.22083953, 0.0052439]),
    "bak": np.poly1d([-0.13166888, 1.60915514, -0.39604546]),
    "ovrl": np.poly1d([-0.06766283, 1.11546468, 0.04602535]),
}


def dnsmos(estimate: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Non-intrusive DNSMOS P.835 scores (Reddy, Gopal, Cutler, ICASSP 2022), each about 1 to 5.

    Returns ``{"ovrl": ..., "sig": ..., "bak": ...}``: overall quality, speech signal quality
    and background-noise quality. The signal is resampled to 16 kHz (soxr HQ); a clip shorter
    than 9.01 s is repeated until it is that long, and the scores are means over 9.01 s
    windows hopped by 1 s, as in the reference script. Runs the ``sig_bak_ovr.onnx`` model
    that the ``speechmos`` package bundles, offline, through onnxruntime (speechmos's own
    ``dnsmos.run`` also computes the P.808 score, which needs librosa; we skip that score).

    Raises ValueError if the signal's peak exceeds 1.0 (DNSMOS expects full scale = 1.0).
    """
    check_rate(sample_rate)
    x = check_mono(estimate, "estimate")
    if np.max(np.abs(x)) > 1.0:
        raise ValueError("estimate: DNSMOS expects samples within [-1, 1]")
    # Clip only the resampler's overshoot, never the signal itself.
    audio = np.clip(soxr.resample(x, sample_rate, DNSMOS_RATE, quality="HQ"), -1.0, 1.0)
    window = int(DNSMOS_WINDOW_S * DNSMOS_RATE)
    if audio.size < window:
        audio = np.tile(audio, -(-window // audio.size))
    hops = int(np.floor(audio.size / DNSMOS_RATE) - DNSMOS_WINDOW_S) + 1
    session = _dnsmos_session()
    raw = []
    for i in range(hops):
        segment = audio[i * DNSMOS_RATE: i * DNSMOS_RATE + window]
        if segment.size < window:
            continue
        raw.append(session.run(None, {"input_1": segment.astype(np.float32)[None, :]})[0][0])
    sig_raw, bak_raw, ovrl_raw = np.asarray(raw, dtype=np.float64).T
    return {"ovrl": float(np.mean(_DNSMOS_POLY["ovrl"](ovrl_raw))),
            "sig": float(np.mean(_DNSMOS_POLY["sig"](sig_raw))),
            "bak": float(np.mean(_DNSMOS_POLY["bak"](bak_raw)))}


def band_pass(signal: np.ndarray, sample_rate: int, low_hz: float, high_hz: float) -> np.ndarray:
    """``signal`` band-passed ``low_hz``-``high_hz`` by a 4th-order Butterworth, zero-phase
    (``sosfiltfilt``: forward and backward, so the magnitude response is the filter's squared
    and there is no delay). Returns float64 ``[T]``."""
    x = check_mono(signal)
    sos = butter(BAND_ORDER, (low_hz, high_hz), btype="bandpass", fs=sample_rate, output="sos")
    return sosfiltfilt(sos, x)


def low_band_db(signal: np.ndarray, sample_rate: int, mask: np.ndarray) -> float:
    """Energy in dB of the signal's 20-200 Hz band over the samples where ``mask`` is True.

    ``10 log10(sum_{n: mask[n]} b[n]^2)`` with ``b = band_pass(signal, 20, 200)`` (4th-order
    Butterworth, zero-phase, filtered over the whole signal before masking). A sum, not a
    mean, so values from masks of different sizes are not comparable. Returns -inf when the
    masked energy is zero. Raises ValueError unless ``mask`` is boolean of the signal's shape.
    """
    check_rate(sample_rate)
    x = check_mono(signal)
    m = np.asarray(mask)
    if m.dtype != np.bool_ or m.shape != x.shape:
        raise ValueError(f"mask: expected a boolean array of shape {x.shape}, got {m.dtype} {m.shape}")
    band = band_pass(x, sample_rate, *POP_BAND_HZ)
    energy = float(np.sum(band[m] ** 2))
    return 10.0 * math.log10(energy) if energy > 0.0 else -math.inf


def pop_reduction_db(clean: np.ndarray, degraded: np.ndarray, processed: np.ndarray,
                     sample_rate: int, pop_mask: np.ndarray) -> dict[str, float]:
    """How much of a plosive pop's 20-200 Hz energy a processor removed, and what it changed
    elsewhere. All three signals are aligned ``[T]`` at 48 kHz; ``pop_mask`` is True on the
    pop samples. With ``L(x, m) = low_band_db(x, 48000, m)``:

    - ``pop_removed_db = L(degraded - clean, pop_mask) - L(processed - clean, pop_mask)``:
      low-band energy of the pop as added, minus that of what is left of it (plus anything
      the processor added) inside the pops. Positive = removed; infinite if removed exactly.
    - ``pop_above_clean_db = L(processed, pop_mask) - L(clean, pop_mask)``: how far the
      output's low band inside the pops stays above the clean speech's there (0 = as clean;
      negative = the processor took speech away with the pop).
    - ``outside_change_db = |L(processed, ~pop_mask) - L(degraded, ~pop_mask)|``: the absolute
      change of the whole signal's low-band energy outside the pops (0 = untouched).

    The band filter spreads a pop's energy by tens of milliseconds (the 20 Hz band edge rings),
    so a mask should cover each pop plus a guard of about 50 ms on either side; otherwise the
    pop's own spill counts as an outside change. Raises ValueError for mismatched shapes or a
    boolean mask that selects no sample or every sample.
    """
    c, d, p = check_mono(clean, "clean"), check_mono(degraded, "degraded"), check_mono(processed, "processed")
    if not c.shape == d.shape == p.shape:
        raise ValueError(f"clean, degraded, processed differ in length: {c.size}, {d.size}, {p.size}")
    m = np.asarray(pop_mask)
    if m.dtype == np.bool_ and (not m.any() or m.all()):
        raise ValueError("pop_mask: must mark some samples as pop and some as not")
    return {
        "pop_removed_db": low_band_db(d - c, sample_rate, m) - low_band_db(p - c, sample_rate, m),
        "pop_above_clean_db": low_band_db(p, sample_rate, m) - low_band_db(c, sample_rate, m),
        "outside_change_db": abs(low_band_db(p, sample_rate, ~m) - low_band_db(d, sample_rate, ~m)),
    }
