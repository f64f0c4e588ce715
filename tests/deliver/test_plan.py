"""The delivery plan predicts what the limiter will take, so that a render lands on target first
time: checked against real renders of a programme the limiter has to work on."""

from pathlib import Path

import numpy as np
import pytest

from dxkit.deliver import delivery, specs
from dxkit.deliver.audio import probe
from dxkit.deliver.limiter import predicted_gain_db
from dxkit.deliver.meter import Meter
from dxkit.deliver.layout import BY_COUNT, MIXES
from dxkit.deliver.mixing import DIALOGUE_HIGHPASS_HZ, leveler_curve

DIALOGUE = Path(__file__).resolve().parents[2] / "data" / "examples" / "dialogue.flac"


def test_predicted_gain_holds_looks_ahead_and_releases():
    peaks = np.full(20, -10.0)
    peaks[8] = 0.0  # 3 dB over a -3 dBTP ceiling in one 10 ms step
    gain = predicted_gain_db(peaks, -3.0, 0.01)
    assert np.allclose(gain[7:12], -3.0)  # the step before (look-ahead), the peak, 30 ms hold
    assert np.allclose(gain[12:16], [-2.4, -1.8, -1.2, -0.6])  # then 60 dB/s
    assert np.all(gain[:7] == 0) and np.allclose(gain[16:], 0)


@pytest.mark.parametrize("name", ["acx", "podcast", "apple"])
def test_plan_lands_where_the_render_does(name):
    """Real speech (the example dialogue), levelled and limited as the spec asks: the render at
    the planned gain is on target, where a plan blind to the limiter would be under it."""
    info = probe(DIALOGUE)
    spec = specs.load(name)
    ceiling = spec.render_ceiling_dbtp - delivery.PEAK_MARGIN_DB
    lay = MIXES[BY_COUNT[info.channels]]
    _, planning, _ = delivery._analyse(info, DIALOGUE_HIGHPASS_HZ, spec.true_peak_max_dbtp, lay)
    curve = leveler_curve(planning.k_power_10ms, planning.subblock_frames, info.sample_rate)
    gain, foreseen = delivery._planned_gain(planning, curve, delivery.Gauge(spec), ceiling, spec.target)
    assert foreseen
    meter = Meter(spec.output.sample_rate, info.channels)
    reduction = delivery._render(info, spec, delivery.Plan(DIALOGUE_HIGHPASS_HZ, curve, gain, ceiling, lay), meter.add)
    rendered = delivery.Gauge(spec).loudness(meter.result())
    assert reduction > 4  # the limiter works
    assert abs(rendered - spec.target) < 0.15
    blind, _ = delivery._planned_gain(planning, curve, delivery.Gauge(spec), 100.0, spec.target)  # a ceiling never reached
    assert gain - blind > 0.3


@pytest.mark.parametrize("plan_off_db", [0.0, 2.0])
def test_a_missed_mp3_learns_the_codec_shift_then_lands(tmp_path, monkeypatch, plan_off_db):
    """Written first at the planned gain; when the plan is off (here made 2 dB too loud), a
    trial at the file's own gains tells what the codec did, the gain is corrected in memory and
    the second file lands."""
    planned = delivery._planned_gain

    def off(*args):
        gain, foreseen = planned(*args)
        return gain + plan_off_db, foreseen

    monkeypatch.setattr(delivery, "_planned_gain", off)
    result = delivery.deliver(DIALOGUE, tmp_path / "book.mp3", "acx")
    # without a dialogue mask only ACX's room tone is left unjudged
    assert {r.name for r in result.requirements if not r.passed} == {"head_room_tone_s", "tail_room_tone_s"}
    assert abs(result.after.rms_db - result.spec.target) <= delivery.RMS_AIM
    if plan_off_db:
        assert result.renders == 2 and result.trials >= 2  # the shift's trial, then the correction's
    else:
        assert result.renders == 1 and result.trials == 0
