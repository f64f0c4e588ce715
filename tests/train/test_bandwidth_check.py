"""The bandwidth-shortcut check: the measurement itself, then the shipped denoiser against it."""

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


def test_the_shipped_denoiser_reduces_noise_by_20_db_whatever_its_bandwidth():
    """Issue 11: white, pink and a real noise, alone and under speech, full band and low-passed
    at 4, 8 and 11 kHz, each reduced by at least 20 dB in the pauses."""
    table = bandwidth_check.shipped("denoise", EVALSET)
    short = {k: round(v, 1) for k, v in table.items() if v < 20.0}
    assert not short, f"less than 20 dB: {short}"
