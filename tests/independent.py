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
