"""Real noise recordings, stretched so that an hour of them sounds like many hours.

``draw(rng, clips, n)`` returns ``n`` samples at 48 kHz and unit RMS made from one to three
recordings, each taken from a random place, sometimes spliced from two or three places, played
faster or slower (pitch and speed together, as a tape or a resampler would), re-equalised and
swelled or faded in level. Every choice comes from ``rng``, so an example is fixed by its seed.

The speed change is ``torchaudio.functional.resample`` between two rates whose ratio is the
speed; small integer ratios keep its filter short.
"""

from __future__ import annotations

import numpy as np
import torch
import torchaudio

from .corpus import Clip
from .eq import random_eq
from .noise import envelope, unit_rms

SPEEDS = ((5, 6), (9, 10), (11, 12), (12, 11), (10, 9), (6, 5), (4, 5), (5, 4))  # (from, to): speed from/to
CROSSFADE = 480  # 10 ms between spliced pieces


def piece(rng: np.random.Generator, audio: np.ndarray, n: int) -> np.ndarray:
    """``n`` samples of ``audio`` looped, from a random offset. The loop joins end to start as
    it is, so a recording shorter than ``n`` repeats with a seam (often a click) per loop."""
    reps = int(np.ceil(n / len(audio))) + 1
    start = rng.integers(0, reps * len(audio) - n + 1)
    return audio[(start + np.arange(n)) % len(audio)]


def splice(rng: np.random.Generator, audio: np.ndarray, n: int, pieces: int) -> np.ndarray:
    """``n`` samples made of ``pieces`` stretches from random places, joined by 10 ms
    equal-power crossfades (one stretch when ``n`` is too short to join)."""
    if pieces == 1 or n < 4 * CROSSFADE:
        return piece(rng, audio, n)
    bounds = np.sort(rng.integers(CROSSFADE, max(CROSSFADE + 1, n - CROSSFADE), pieces - 1))
    out = piece(rng, audio, n).astype(np.float32)
    fade = np.sin(0.5 * np.pi * np.arange(CROSSFADE) / CROSSFADE).astype(np.float32)
    for b in bounds:
        other = piece(rng, audio, n - b)
        out[b:b + CROSSFADE] = out[b:b + CROSSFADE] * fade[::-1] + other[:CROSSFADE] * fade
        out[b + CROSSFADE:] = other[CROSSFADE:]
    return out


def one(rng: np.random.Generator, clip: Clip, n: int) -> np.ndarray:
    """One recording made new: spliced, speed-changed, equalised, level-modulated."""
    speed = SPEEDS[rng.integers(len(SPEEDS))] if rng.random() < 0.5 else (1, 1)
    need = int(np.ceil(n * speed[0] / speed[1])) + 64
    x = splice(rng, clip.audio, need, int(rng.choice([1, 2, 3], p=[0.6, 0.25, 0.15])))
    if speed != (1, 1):
        x = torchaudio.functional.resample(torch.from_numpy(np.ascontiguousarray(x)), *speed).numpy()
    x = x[:n]
    if rng.random() < 0.5:
        x = random_eq(rng, x)
    if rng.random() < 0.3:
        x = x * envelope(rng, n, rng.uniform(0.1, 3.0), rng.uniform(0.2, 0.8))
    return unit_rms(x)


def draw(rng: np.random.Generator, clips: list[Clip], n: int) -> np.ndarray:
    """``n`` samples of one to three augmented recordings at random relative levels, unit RMS."""
    count = int(rng.choice([1, 2, 3], p=[0.55, 0.3, 0.15]))
    total = np.zeros(n, np.float32)
    for i in rng.choice(len(clips), size=min(count, len(clips)), replace=False):
        total += one(rng, clips[i], n) * np.float32(10 ** (rng.uniform(-12, 0) / 20))
    return unit_rms(total)
