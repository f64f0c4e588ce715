"""Does bandwidth tell a denoiser what is speech? The check of issue 11's bandwidth shortcut.

A network trained on speech that stops at 8 kHz under full-band noise can learn "energy that
stops at 8 kHz is speech" and let any band-limited noise through. ``pause_reduction`` plays a
noise alone and under speech, full band and low-passed (``render.band_limit``) at 4, 8 and
11 kHz, and measures how much quieter the network makes the noise where there is no speech:
the frames where the clean speech is digitally silent (``with_pause`` puts a pause of silence
between two copies of a clip), after the first half second (the network's state settling).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import numpy as np

from dxkit.infer.chain import load_chain, run_chain

from . import render
from .corpus import load_clip
from .levels import active_rms, frame_power

CUTOFFS_HZ = (0.0, 4000.0, 8000.0, 11000.0)  # 0: full band
SPEECH = "wideband/vctk_p255_367.flac"  # held-out 48 kHz speech: it reaches above every cutoff
# a held-out river (other loops cut from its source recording were in the issue 11 training)
REAL_NOISE = "noise/0ad_water_river_med_21.ogg"
SPEECH_DBFS = -26.0
NOISE_DBFS = -36.0
SETTLE_S = 0.5


def pink(rng: np.random.Generator, n: int) -> np.ndarray:
    """Pink noise (-3 dB per octave) by shaping white noise's spectrum by 1/sqrt(f)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / 48000)
    return np.fft.irfft(spec / np.sqrt(np.maximum(f, 20.0)), n)


def with_pause(speech: np.ndarray, pause_s: float = 1.5) -> np.ndarray:
    """``speech``, ``pause_s`` of digital silence, ``speech`` again: a line, a pause, a line."""
    return np.concatenate([speech, np.zeros(int(pause_s * 48000), speech.dtype), speech])


def pause_reduction(process: Callable[[np.ndarray], np.ndarray], noise: np.ndarray,
                    speech: np.ndarray | None, cutoff_hz: float) -> float:
    """dB by which ``process`` lowers ``noise`` (low-passed at ``cutoff_hz``, 0: full band, at
    -36 dBFS RMS) in the digitally silent frames of ``speech`` (at -26 dBFS active RMS; None:
    noise alone, all of it a pause). All signals are 48 kHz mono ``[T]``; ``noise`` is looped
    to the speech's length."""
    n = len(noise) if speech is None else len(speech)
    x = render.band_limit_array(np.resize(noise, n), cutoff_hz).astype(np.float64)
    x *= 10 ** (NOISE_DBFS / 20) / np.sqrt(np.mean(x ** 2))
    clean = np.zeros(n) if speech is None else speech / active_rms(speech) * 10 ** (SPEECH_DBFS / 20)
    out = np.asarray(process((clean + x).astype(np.float32)), np.float64)
    residual = out - clean  # where the speech is silent, this is the noise left
    pauses = frame_power(clean) == 0
    pauses[:int(SETTLE_S * 100)] = False  # 10 ms frames
    before, after = frame_power(x)[pauses].mean(), frame_power(residual)[pauses].mean()
    return float(10 * np.log10(before / max(after, 1e-20)))


def table(process: Callable[[np.ndarray], np.ndarray], noises: dict[str, np.ndarray],
          speech: np.ndarray) -> dict[tuple[str, str, float], float]:
    """``pause_reduction`` for every noise, alone and under ``speech``, at every cutoff."""
    return {(name, where, cut): pause_reduction(process, noise, None if where == "alone" else speech, cut)
            for name, noise in noises.items() for where in ("alone", "under speech") for cut in CUTOFFS_HZ}


def shipped(network: str = "denoise", evalset: str | os.PathLike = "data/evalset",
            seed: int = 0, real_noise: str = REAL_NOISE) -> dict[tuple[str, str, float], float]:
    """``table`` for ``network`` (a shipped name or a weights file) with white noise, pink noise
    and a real recording (``real_noise``, a path inside ``evalset``; a river by default), under
    held-out wideband speech with a pause, from ``evalset``."""
    folder = Path(evalset)
    speech = with_pause(load_clip(folder / SPEECH).audio)
    rng = np.random.default_rng(seed)
    noises = {"white": rng.standard_normal(len(speech)), "pink": pink(rng, len(speech)),
              "river" if real_noise == REAL_NOISE else Path(real_noise).stem: load_clip(folder / real_noise).audio}
    nets = load_chain([network])
    return table(lambda x: run_chain(x[None], 48000, [network], nets=nets)[0], noises, speech)
