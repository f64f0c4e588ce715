"""Dialogue mixing before loudness: a high-pass and a leveler that rides level without pumping.

The leveler plans from a whole-file analysis (the 10 ms K-weighted powers the meter already
collected), so its gain curve is zero-phase and looks ahead as far as it likes: it turns a
passage up or down over seconds, never per syllable, and holds its gain through pauses so room
tone between lines is not pulled up.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy.ndimage import uniform_filter1d
from scipy.signal import butter, sosfilt

from .dialogue import fit_mask
from .meter import (GATING_HOP_SUBBLOCKS, MOMENTARY_SUBBLOCKS, RELATIVE_GATE_LU, gated_loudness,
                    integrated_from_subblocks, loudness_of_power, window_power)

HIGHPASS_ORDER = 2  # 12 dB/octave: removes rumble and handling noise, keeps voice weight
DIALOGUE_HIGHPASS_HZ = 80.0  # the restore pipeline's default; delivery alone has none (a mixing choice)
LEVELER_WINDOW_S = 3.0  # speech level is judged over this many seconds of gated blocks
LEVELER_SMOOTH_S = 2.0  # gain moves no faster than this (two passes of a moving average)
LEVELER_GATE_LU = -20.0  # blocks this far below the programme are pauses; a quieter speaker is not
LEVELER_MIN_ACTIVE = 0.25  # a window needs this share of speech blocks to judge the level


class Highpass:
    """Streaming Butterworth high-pass over ``[C, T]`` blocks; state carries across blocks."""

    def __init__(self, cutoff_hz: float, sample_rate: int, channels: int, keep: tuple[int, ...] = ()):
        """``keep``: channels passed through unfiltered (the LFE)."""
        if not 0 < cutoff_hz < sample_rate / 2:
            raise ValueError(f"high-pass at {cutoff_hz} Hz is outside (0, {sample_rate / 2}) Hz")
        self._sos = butter(HIGHPASS_ORDER, cutoff_hz, btype="highpass", fs=sample_rate, output="sos")
        self._filtered = [c for c in range(channels) if c not in keep]
        self._zi = np.zeros((self._sos.shape[0], len(self._filtered), 2))

    def process(self, block: np.ndarray) -> np.ndarray:
        if len(self._filtered) == block.shape[0]:
            out, self._zi = sosfilt(self._sos, block, axis=-1, zi=self._zi)
            return out.astype(np.float32)
        out = block.astype(np.float32, copy=True)
        out[self._filtered], self._zi = sosfilt(self._sos, block[self._filtered], axis=-1, zi=self._zi)
        return out


@dataclass(frozen=True)
class GainCurve:
    """A gain in dB over time (seconds), applied with linear interpolation between points."""

    times_s: np.ndarray
    gain_db: np.ndarray

    @cached_property
    def factors(self) -> np.ndarray:
        return 10 ** (self.gain_db / 20)

    def at(self, times_s: np.ndarray) -> np.ndarray:
        """Linear gain factors at ``times_s``, interpolated linearly between the points (100 ms
        apart, moving at most a few tenths of a dB from one to the next: within 0.001 dB of
        interpolating the dB values, and no power function per sample)."""
        if self.times_s.size == 0:
            return np.ones_like(times_s)
        return np.interp(times_s, self.times_s, self.factors)

    def on_subblocks(self, count: int, sub_len: int, sample_rate: int) -> np.ndarray:
        """Power factors (gain squared) at the centres of ``count`` 10 ms sub-blocks."""
        centres = (np.arange(count) + 0.5) * sub_len / sample_rate
        return self.at(centres) ** 2


FLAT = GainCurve(np.zeros(0), np.zeros(0))


def leveler_curve(k_power_10ms: np.ndarray, sub_len: int, sample_rate: int,
                  max_boost_db: float = 6.0, max_cut_db: float = 6.0,
                  dialogue: np.ndarray | None = None) -> GainCurve:
    """Plan a leveler gain that brings each passage toward the programme's integrated loudness.

    Speech level is the power mean of the gated 400 ms blocks within ``LEVELER_WINDOW_S``; the
    gain is clamped to +``max_boost_db`` / -``max_cut_db``, held across pauses, and smoothed.
    With a ``dialogue`` mask (one value per 10 ms) the leveler rides the dialogue: it
    judges only the blocks that are dialogue throughout, against the dialogue's own loudness,
    and holds its gain through everything else, so music and effects under and between the
    lines do not move it. Without dialogue in the mask it levels the whole programme.
    """
    blocks = window_power(k_power_10ms, MOMENTARY_SUBBLOCKS, sub_len)[::GATING_HOP_SUBBLOCKS]
    lines = None
    if dialogue is not None and blocks.size:
        mask = fit_mask(dialogue, k_power_10ms.size, sub_len, sample_rate)
        share = window_power(mask.astype(float), MOMENTARY_SUBBLOCKS, 1)
        lines = share[::GATING_HOP_SUBBLOCKS][:blocks.size] > 1 - 1e-9
        lines = lines if lines.any() else None
    if lines is not None:
        programme = gated_loudness(blocks[lines], RELATIVE_GATE_LU)[0]
    else:
        programme = integrated_from_subblocks(k_power_10ms, sub_len)
    if programme is None or blocks.size == 0:
        return FLAT
    hop_s = GATING_HOP_SUBBLOCKS * sub_len / sample_rate
    times = np.arange(blocks.size) * hop_s + MOMENTARY_SUBBLOCKS * sub_len / sample_rate / 2
    active = loudness_of_power(blocks) > programme + LEVELER_GATE_LU
    if lines is not None:
        active = np.zeros(blocks.size, bool)
        active[:lines.size] = lines
    span = max(1, int(round(LEVELER_WINDOW_S / hop_s)))
    power_sum = uniform_filter1d(np.where(active, blocks, 0.0), span, mode="constant")
    count = uniform_filter1d(active.astype(float), span, mode="constant")
    have = count >= LEVELER_MIN_ACTIVE
    if not have.any():
        return FLAT
    level = np.full(blocks.size, np.nan)
    level[have] = loudness_of_power(power_sum[have] / count[have])
    level = np.interp(times, times[have], level[have])  # hold through pauses
    gain = np.clip(programme - level, -max_cut_db, max_boost_db)
    smooth = max(1, int(round(LEVELER_SMOOTH_S / hop_s)))
    gain = uniform_filter1d(uniform_filter1d(gain, smooth, mode="nearest"), smooth, mode="nearest")
    return GainCurve(times, gain)
