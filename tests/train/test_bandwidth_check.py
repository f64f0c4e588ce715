"""The bandwidth-shortcut check: the measurement itself, then the shipped denoiser against it."""

import functools
from pathlib import Path

import numpy as np
import pytest

from dxkit.train import bandwidth_check

EVALSET = Path(__file__).parents[2] / "data" / "evalset"


def test_pause_reduction_reads_what_a_process_takes_away_in_the_pauses_only():
    rng = np.random.default_rng(0)
    speech = bandwidth_check.with_pause(rng.standard_normal(48000) * np.hanning(48000))
    noise = rng.standard_normal(len(speech))
    measure = lambda process, cut=0.0: bandwidth_check.pause_reduction(process, noise, speech, cut)  # noqa: E731
    assert abs(measure(lambda x: x)) < 1e-6
    # a process that lowers everything by 20 dB: the pauses show exactly that
    clean = speech / bandwidth_check.active_rms(speech) * 10 ** (bandwidth_check.SPEECH_DBFS / 20)
    assert measure(lambda x: clean + (x - clean) * 0.1, 4000.0) == pytest.approx(20.0, abs=1e-3)
    # noise alone: every frame after the first half second is a pause
    assert bandwidth_check.pause_reduction(lambda x: 0.01 * x, noise, None, 8000.0) == pytest.approx(40.0, abs=1e-3)


# Cells of the shipped denoiser's table known to fall short of 20 dB (issue 11, not met yet; see
# the README). strict: the day one of them passes, this test says so and the entry must go.
SHORT = {("pink", "alone", 8000.0): "14.6 dB", ("pink", "alone", 11000.0): "16.0 dB"}
CELLS = [(noise, where, cut) for noise in ("white", "pink", "river") for where in ("alone", "under speech")
         for cut in bandwidth_check.CUTOFFS_HZ]


@functools.lru_cache(maxsize=1)
def shipped_table():
    return bandwidth_check.shipped("denoise", EVALSET)


@pytest.mark.parametrize("cell", [pytest.param(c, marks=pytest.mark.xfail(strict=True, reason=SHORT[c]))
                                  if c in SHORT else c for c in CELLS], ids=lambda c: f"{c[0]}-{c[1]}-{c[2]:g}")
def test_the_shipped_denoiser_reduces_noise_by_20_db_whatever_its_bandwidth(cell):
    """Issue 11: white, pink and a real noise, alone and under speech, full band and low-passed
    at 4, 8 and 11 kHz, each reduced by at least 20 dB in the pauses."""
    assert shipped_table()[cell] >= 20.0, f"{cell}: {shipped_table()[cell]:.1f} dB"
