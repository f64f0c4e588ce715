"""Levels of a signal in short frames: what mixtures, pops and the test set agree "speech level"
means."""

from __future__ import annotations

import numpy as np

FRAME = 480  # 10 ms at 48 kHz


def frame_power(x: np.ndarray, hop: int = FRAME) -> np.ndarray:
    """Mean square of each whole ``hop``-sample frame of ``x`` (float64, possibly empty)."""
    frames = len(x) // hop
    return np.mean(x[:frames * hop].reshape(frames, hop).astype(np.float64) ** 2, axis=1)


def active_rms(x: np.ndarray, hop: int = FRAME) -> float:
    """RMS over the 10 ms frames within 40 dB of the loudest: the level of speech, not pauses."""
    power = frame_power(x, hop)
    if len(power) == 0:
        return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)) + 1e-12)
    active = power[power > power.max() * 1e-4]
    return float(np.sqrt(active.mean()) + 1e-12)
