"""Levels of a signal in short frames: what mixtures, pops and the test set agree "speech level"
means."""

from __future__ import annotations

import numpy as np
import torch

FRAME = 480  # 10 ms at 48 kHz


def frame_power(x: np.ndarray, hop: int = FRAME) -> np.ndarray:
    """Mean square of each whole ``hop``-sample frame of ``x`` (float64, possibly empty)."""
    frames = len(x) // hop
    return np.mean(x[:frames * hop].reshape(frames, hop).astype(np.float64) ** 2, axis=1)


def active_rms(x: np.ndarray, hop: int = FRAME) -> float:
    """RMS over the 10 ms frames within 40 dB of the loudest: the level of speech, not pauses
    (1e-12 for silence)."""
    return float(batch_active_rms(torch.from_numpy(np.asarray(x, np.float64))[None], hop)[0])


def batch_active_rms(x: torch.Tensor, hop: int = FRAME) -> torch.Tensor:
    """``[B]``: ``active_rms`` of each row of ``x [B, T]``, on any device. A row shorter than a
    frame gives its plain RMS; a silent row gives 1e-12."""
    frames = x.shape[-1] // hop
    if frames == 0:
        return x.pow(2).mean(-1).sqrt() + 1e-12
    power = x[:, :frames * hop].reshape(x.shape[0], frames, hop).pow(2).mean(-1)
    active = power > power.amax(-1, keepdim=True) * 1e-4
    return ((power * active).sum(-1) / active.sum(-1).clamp_min(1)).sqrt() + 1e-12
