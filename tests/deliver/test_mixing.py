"""The leveler rides level slowly, holds through pauses, and stays within its range."""

import numpy as np

from dxkit.deliver.meter import Meter
from dxkit.deliver.mixing import leveler_curve
from signals import sine


def plan_for(signal: np.ndarray, rate: int = 48000):
    m = Meter(rate, 1, true_peak=False)
    m.add(signal[None, :].astype(np.float32))
    r = m.result()
    return leveler_curve(r.k_power_10ms, r.subblock_frames, rate)


def test_quiet_passage_is_raised_loud_one_lowered_smoothly():
    x = np.concatenate([sine(1000, -12, 10), sine(1000, -24, 10)])
    curve = plan_for(x)
    assert curve.at(np.array([3.0]))[0] < 1.0 < curve.at(np.array([17.0]))[0]
    db = 20 * np.log10(curve.at(np.arange(0, 20, 0.01)))
    assert db.max() <= 6.0 + 1e-9 and db.min() >= -6.0 - 1e-9
    assert np.abs(np.diff(db)).max() / 0.01 < 8.0  # dB per second: no syllable-rate pumping


def test_pause_is_not_pulled_up():
    # Speech, a 4 s pause with quiet room tone, speech: the gain in the pause stays near the
    # gain of the speech around it instead of boosting the room tone by the full range.
    rng = np.random.default_rng(0)
    room = 10 ** (-70 / 20) * rng.standard_normal(4 * 48000)
    x = np.concatenate([sine(1000, -20, 6), room, sine(1000, -20, 6)])
    db = 20 * np.log10(plan_for(x).at(np.array([2.0, 8.0, 14.0])))
    assert abs(db[1] - db[0]) < 1.0 and abs(db[1] - db[2]) < 1.0
