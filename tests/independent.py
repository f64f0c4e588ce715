"""The independent meters the tests compare against: libebur128 (through pyebur128) and
pyloudnorm, two implementations of ITU-R BS.1770 that share no code with ours or each other."""

from __future__ import annotations

import math

import numpy as np
import pyebur128 as ebu
import pyloudnorm
import soundfile as sf


def libebur128(path) -> dict:
    """Integrated LUFS, LRA and max true peak (dBTP) of a file, decoded by libsndfile."""
    info = sf.info(str(path))
    mode = ebu.MeasurementMode
    state = ebu.R128State(info.channels, info.samplerate, mode.MODE_I | mode.MODE_LRA | mode.MODE_TRUE_PEAK)
    for block in sf.blocks(str(path), blocksize=1 << 18, dtype="float64", always_2d=True):
        state.add_frames(np.ascontiguousarray(block).ravel(), block.shape[0])
    peak = max(ebu.get_true_peak(state, c) for c in range(info.channels))
    return {"integrated_lufs": ebu.get_loudness_global(state),
            "lra_lu": ebu.get_loudness_range(state),
            "true_peak_dbtp": 20 * math.log10(peak) if peak > 0 else -math.inf}


def pyloudnorm_lufs(path) -> float:
    """Integrated LUFS of a mono or stereo file by pyloudnorm, decoded by libsndfile (its
    channel weights stop at five channels and know no LFE, so no surround here)."""
    data, rate = sf.read(str(path), dtype="float64", always_2d=True)
    if data.shape[1] > 2:
        raise ValueError(f"{path}: pyloudnorm is used here on mono and stereo only")
    return float(pyloudnorm.Meter(rate).integrated_loudness(data))


def libebur128_dialogue_lufs(path, active: np.ndarray) -> float | None:
    """Dialogue-gated loudness by libebur128's K-weighting and block energies: the file is fed
    100 ms at a time and the momentary loudness (the last 400 ms) read after each, which is the
    BS.1770 gating block ending there; the blocks whose 40 frames of ``active`` (one value per
    10 ms) are all dialogue are then gated (-70 LUFS, then -10 LU) and power-averaged here."""
    info = sf.info(str(path))
    step = info.samplerate // 10
    state = ebu.R128State(info.channels, info.samplerate, ebu.MeasurementMode.MODE_M)
    blocks = []
    for n, block in enumerate(sf.blocks(str(path), blocksize=step, dtype="float64", always_2d=True)):
        if block.shape[0] < step:
            break
        state.add_frames(np.ascontiguousarray(block).ravel(), block.shape[0])
        if n >= 3:  # block n - 3 spans 10 ms frames [10 (n - 3), 10 (n - 3) + 40)
            first = 10 * (n - 3)
            if active[first:first + 40].size == 40 and active[first:first + 40].all():
                blocks.append(ebu.get_loudness_momentary(state))
    levels = np.array([b for b in blocks if b > -70.0])
    if levels.size == 0:
        return None
    power = 10 ** ((levels + 0.691) / 10)
    kept = power[levels > -0.691 + 10 * np.log10(power.mean()) - 10.0]
    return float(-0.691 + 10 * np.log10(kept.mean())) if kept.size else None
