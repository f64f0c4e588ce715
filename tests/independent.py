"""The independent meter the tests compare against: libebur128 through pyebur128."""

from __future__ import annotations

import math

import numpy as np
import pyebur128 as ebu
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
