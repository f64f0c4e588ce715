"""Random equalisation, for speech and noise alike: a microphone, a room or a codec colours both."""

from __future__ import annotations

import numpy as np
from scipy import signal

from .corpus import RATE


def random_eq(rng: np.random.Generator, x: np.ndarray) -> np.ndarray:
    """One to three peaking filters of ±6 dB (RBJ Audio EQ Cookbook peaking biquad)."""
    for _ in range(rng.integers(1, 4)):
        f0, q, gain_db = rng.uniform(100, 8000), rng.uniform(0.5, 2.0), rng.uniform(-6, 6)
        a = 10 ** (gain_db / 40)
        w0 = 2 * np.pi * f0 / RATE
        alpha = np.sin(w0) / (2 * q)
        b = [1 + alpha * a, -2 * np.cos(w0), 1 - alpha * a]
        den = [1 + alpha / a, -2 * np.cos(w0), 1 - alpha / a]
        x = signal.lfilter(b, den, x)
    return x.astype(np.float32)
