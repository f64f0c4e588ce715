"""Synthetic plosive pops: the low-frequency pressure burst a /p/ or /b/ puts on a close
microphone. A pop is 10 to 80 ms long, has its energy between 20 and 200 Hz, a fast attack and an
exponential decay, and sits 6 to 20 dB above the speech's own 20-200 Hz level around it. Pops are
placed at speech onsets (where a stop consonant releases into a vowel)."""

from __future__ import annotations

import numpy as np
from scipy import signal

from .corpus import RATE
from .levels import FRAME, frame_power
from .metrics import band_pass

LOW_BAND = (20.0, 200.0)


def onsets(speech: np.ndarray, hop_s: float = 0.01, rise_db: float = 12.0) -> np.ndarray:
    """Sample positions where 10 ms frame energy jumps by ``rise_db`` over the 50 ms before and
    reaches within 30 dB of the loudest frame."""
    hop = int(hop_s * RATE)
    frames = len(speech) // hop
    if frames < 8:
        return np.zeros(0, int)
    energy = 10 * np.log10(frame_power(speech, hop) + 1e-10)
    before = np.array([energy[max(0, k - 5):k].mean() if k else energy[0] for k in range(frames)])
    hits = np.flatnonzero((energy - before > rise_db) & (energy > energy.max() - 30))
    keep = hits[np.insert(np.diff(hits) > 10, 0, True)] if len(hits) else hits
    return keep * hop


def pop(rng: np.random.Generator) -> np.ndarray:
    """One pop at unit RMS over its length: a low-passed burst or a damped low sinusoid."""
    length = int(rng.uniform(0.010, 0.080) * RATE)
    t = np.arange(length) / RATE
    attack = rng.uniform(0.001, 0.004)
    env = np.minimum(t / attack, 1.0) * np.exp(-np.maximum(t - attack, 0) / (length / RATE / 3))
    if rng.random() < 0.5:  # a damped sinusoid at 10-100 Hz: its spectrum spreads over 20-200 Hz
        f = rng.uniform(*LOW_BAND) * 0.5
        wave = np.sin(2 * np.pi * f * t + rng.uniform(-0.5, 0.5))
    else:
        cutoff = rng.uniform(40, 200)
        burst = rng.standard_normal(length + 2000)
        wave = signal.sosfilt(signal.butter(2, cutoff, "low", fs=RATE, output="sos"), burst)[2000:]
        wave += rng.uniform(1, 3) * np.sign(rng.standard_normal()) * np.std(wave) * np.exp(-t / attack / 3)
    out = wave * env
    return out / (np.sqrt(np.mean(out ** 2)) + 1e-12)


def add_pops(rng: np.random.Generator, speech: np.ndarray, count: int,
             gain_db: tuple[float, float] = (6.0, 20.0)) -> tuple[np.ndarray, np.ndarray]:
    """Add up to ``count`` pops at onsets of ``speech``. Returns the popped signal and a boolean
    mask of the samples each pop covers."""
    out = speech.astype(np.float32).copy()
    mask = np.zeros(len(speech), bool)
    places = onsets(speech)
    if len(places) == 0:  # no clear onset: anywhere the speech is within 20 dB of its loudest
        power = frame_power(speech)
        if len(power) == 0:
            return out, mask
        places = np.flatnonzero(power > power.max() * 0.01) * FRAME
    low = band_pass(speech, RATE, *LOW_BAND)
    speech_rms = np.sqrt(np.mean(speech ** 2)) + 1e-9
    for at in rng.choice(places, size=min(count, len(places)), replace=False):
        p = pop(rng)
        start = max(0, at - int(rng.uniform(0, 0.01) * RATE))
        end = min(len(out), start + len(p))
        window = low[max(0, start - 4800):start + 4800]
        local = max(np.sqrt(np.mean(window ** 2)), speech_rms * 0.1)
        out[start:end] += (p[:end - start] * local * 10 ** (rng.uniform(*gain_db) / 20)).astype(np.float32)
        mask[start:end] = True
    return out, mask
