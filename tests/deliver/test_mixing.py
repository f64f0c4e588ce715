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


def test_with_a_dialogue_mask_the_leveler_rides_the_lines_not_a_swelling_bed():
    """Lines (2 s on, 2 s off) over a music bed 20 dB under them that swells to 10 dB under
    them halfway through: riding the dialogue, the gain on the lines moves less than 1 dB with
    the swell; levelling the whole programme, it moves with the bed."""
    rate, seconds = 48000, 40
    rng = np.random.default_rng(4)
    t = np.arange(seconds * rate) / rate
    on = (t // 2) % 2 == 0
    lines = 10 ** (-26 / 20) * np.sqrt(2) * np.sin(2 * np.pi * 1000 * t) * on
    bed = 10 ** (-46 / 20) * rng.standard_normal(t.size) * np.where(t < seconds / 2, 1.0, 10 ** (10 / 20))
    m = Meter(rate, 1, true_peak=False)
    m.add((lines + bed)[None].astype(np.float32))
    r = m.result()
    mask = on[::rate // 100]
    at_lines = np.array([9.0, 13.0, 29.0, 33.0])  # line centres well before and well after the swell
    riding = 20 * np.log10(leveler_curve(r.k_power_10ms, r.subblock_frames, rate, dialogue=mask).at(at_lines))
    whole = 20 * np.log10(leveler_curve(r.k_power_10ms, r.subblock_frames, rate).at(at_lines))
    assert abs(riding[2:].mean() - riding[:2].mean()) < 1.0
    assert abs(whole[2:].mean() - whole[:2].mean()) > 1.0
