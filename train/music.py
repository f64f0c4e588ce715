"""Synthetic music for the dialogue detector to learn is not dialogue: the shared corpus has
under a minute of real music, so most music the detector hears is made here.

``synthetic(rng, n)``: chords of harmonic notes (a random number of partials falling off at a
random slope, an attack and a decay, sometimes vibrato) on a beat at 70 to 160 bpm, a bass
line, and sometimes drums (a falling sine for the kick, noise bursts for snare and hats).
Sustained harmonic tones at steady pitches are what music has and speech lacks; the detector
must learn to leave them out. Unit RMS, 48 kHz, float32.
"""

from __future__ import annotations

import numpy as np

from .corpus import RATE
from .noise import unit_rms

MAJOR, MINOR = (0, 4, 7), (0, 3, 7)


def note(rng: np.random.Generator, freq: float, length: int, partials: int, slope: float) -> np.ndarray:
    """One harmonic note of ``length`` samples: partials falling off as k^-slope, a short attack
    and an exponential decay, sometimes with vibrato."""
    t = np.arange(length) / RATE
    # Vibrato: the frequency is freq (1 + depth sin(2 pi rate t)), so the phase is its integral.
    depth, rate = (rng.uniform(0, 0.006), rng.uniform(4, 7)) if rng.random() < 0.4 else (0.0, 1.0)
    phase = 2 * np.pi * freq * t - freq * depth / rate * np.cos(2 * np.pi * rate * t)
    tone = sum(np.sin(k * phase + rng.uniform(0, 2 * np.pi)) / k ** slope
               for k in range(1, partials + 1) if k * freq < RATE / 2 - 1000)
    attack = np.minimum(1.0, t / rng.uniform(0.005, 0.08))
    return tone * attack * np.exp(-t / rng.uniform(0.2, 3.0))


def drums(rng: np.random.Generator, n: int, beat: int) -> np.ndarray:
    out = np.zeros(n)
    hit = int(0.15 * RATE)
    t = np.arange(hit) / RATE
    kick = np.sin(2 * np.pi * np.cumsum(50 + 100 * np.exp(-t / 0.03)) / RATE) * np.exp(-t / 0.08)
    for start in range(0, n - hit, beat):
        out[start:start + hit] += kick if (start // beat) % 2 == 0 else \
            rng.standard_normal(hit) * np.exp(-t / 0.05) * 0.5
        half = start + beat // 2
        if half + hit < n:
            out[half:half + hit] += np.diff(rng.standard_normal(hit + 1)) * np.exp(-t / 0.02) * 0.2
    return out


def synthetic(rng: np.random.Generator, n: int) -> np.ndarray:
    beat = int(RATE * 60 / rng.uniform(70, 160))
    root = 110 * 2 ** (rng.integers(0, 12) / 12)
    partials, slope = int(rng.integers(2, 12)), rng.uniform(0.7, 2.0)
    out = np.zeros(n)
    at = 0
    while at < n:
        length = min(beat * int(rng.choice([1, 2, 4])), n - at)
        degree = int(rng.choice([0, 2, 4, 5, 7, 9]))
        chord = MAJOR if rng.random() < 0.5 else MINOR
        for step in chord:
            freq = root * 2 ** ((degree + step) / 12) * 2 ** int(rng.integers(0, 3))
            out[at:at + length] += note(rng, freq, length, partials, slope)
        out[at:at + length] += 1.5 * note(rng, root * 2 ** (degree / 12) / 2, length, 3, 1.5)  # bass
        at += length
    if rng.random() < 0.6:
        out += unit_rms(drums(rng, n, beat)) * np.sqrt(np.mean(out ** 2)) * rng.uniform(0.3, 1.0)
    return unit_rms(out)
