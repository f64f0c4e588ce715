"""Measuring with a dialogue mask: dialogue-gated loudness and ACX room tone at a file's ends."""

import numpy as np
import pytest

from dxkit.deliver.dialogue import dialogue_loudness, fit_mask, room_tone
from dxkit.deliver.meter import Meter
from independent import libebur128, libebur128_dialogue_lufs

RATE = 48000


def measured(x: np.ndarray):
    meter = Meter(RATE, 1)
    meter.add(x[None].astype(np.float32))
    return meter.result()


def lines_and_bed(seconds: float = 40.0, line_s: float = 2.0, bed_db: float = 10.0):
    """A 'line' (a 1 kHz tone at -26 dBFS) every other ``line_s``, and between the lines a
    noise bed ``bed_db`` louder. Returns the mix, the tone held throughout, and the 10 ms mask
    of lines."""
    rng = np.random.default_rng(0)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    on = (t // line_s) % 2 == 0
    tone = 10 ** (-26 / 20) * np.sqrt(2) * np.sin(2 * np.pi * 1000 * t)
    bed = 10 ** ((-26 + bed_db) / 20) * rng.standard_normal(n) * ~on
    mask = on[::RATE // 100]
    return tone * on + bed, tone, mask


def test_gated_on_dialogue_reads_the_lines_not_the_bed():
    mix, tone, mask = lines_and_bed()
    m = measured(mix)
    gated = dialogue_loudness(m.k_power_10ms, m.subblock_frames, mask)
    alone = measured(tone).integrated_lufs
    assert gated.fraction == pytest.approx(0.5, abs=0.01)
    assert abs(gated.lufs - alone) < 0.1
    assert m.integrated_lufs - gated.lufs > 5  # the full programme is dominated by the louder bed


def test_all_dialogue_is_the_integrated_loudness_and_none_is_none():
    mix, _, mask = lines_and_bed(seconds=10.0)
    m = measured(mix)
    everything = dialogue_loudness(m.k_power_10ms, m.subblock_frames, np.ones(m.k_power_10ms.size, bool))
    assert everything.lufs == pytest.approx(m.integrated_lufs, abs=1e-9) and everything.fraction == 1.0
    nothing = dialogue_loudness(m.k_power_10ms, m.subblock_frames, np.zeros(m.k_power_10ms.size, bool))
    assert nothing.lufs is None and nothing.fraction == 0.0


def test_a_mask_of_another_length_is_cut_or_padded_with_no_dialogue():
    assert fit_mask(np.ones(3, bool), 5).tolist() == [True, True, True, False, False]
    assert fit_mask(np.ones(7, bool), 5).tolist() == [True] * 5


def test_a_mask_is_read_by_time_where_sub_blocks_are_not_10_ms():
    # 22.05 kHz: 220-sample sub-blocks (9.977 ms); after an hour index by index would be 8 s off
    mask = np.zeros(360_000, bool)
    mask[359_000:] = True  # the last 10 s of an hour
    fitted = fit_mask(mask, 360_818, 220, 22050)
    first = np.flatnonzero(fitted)[0]
    assert abs(first * 220 / 22050 - 3590.0) < 0.011


def take(head_s: float, tail_s: float, tone_db: float = -60.0):
    """Room tone (white noise at ``tone_db`` RMS, or nothing at -inf), 3 s of a 'line', then tone."""
    rng = np.random.default_rng(1)
    total = round((head_s + 3.0 + tail_s) * RATE)
    x = rng.standard_normal(total) * 10 ** (tone_db / 20) if np.isfinite(tone_db) else np.zeros(total)
    start, stop = round(head_s * RATE), round((head_s + 3.0) * RATE)
    x[start:stop] += 0.1 * np.sin(2 * np.pi * 300 * np.arange(stop - start) / RATE)
    mask = np.zeros(total // (RATE // 100), bool)
    mask[int(round(head_s * 100)):int(round((head_s + 3.0) * 100))] = True
    return measured(x), mask


@pytest.mark.parametrize("head_s, tail_s, tone_db, problem", [
    (0.7, 2.0, -60.0, ("", "")),
    (0.0, 2.0, -60.0, ("head room tone is 0.00 s, under 0.5 s", "")),
    (0.7, 0.3, -60.0, ("", "tail room tone is 0.30 s, under 1 s")),
    (0.7, 6.0, -60.0, ("", "tail room tone is 6.00 s, over 5 s")),
    (0.7, 2.0, -np.inf, ("head room tone is digital silence (-inf dB RMS)",
                         "tail room tone is digital silence (-inf dB RMS)")),
])
def test_room_tone_at_each_end_passes_or_says_why(head_s, tail_s, tone_db, problem):
    m, mask = take(head_s, tail_s, tone_db)
    head, tail = room_tone(m.plain_power_10ms, m.subblock_frames, RATE, mask)
    assert (head.problem, tail.problem) == problem
    assert head.seconds == pytest.approx(head_s, abs=0.011) and tail.seconds == pytest.approx(tail_s, abs=0.011)
    if np.isfinite(tone_db) and head_s:
        assert head.rms_db == pytest.approx(tone_db, abs=0.5)


def test_no_dialogue_has_no_room_tone_to_judge():
    m, mask = take(0.7, 2.0)
    assert room_tone(m.plain_power_10ms, m.subblock_frames, RATE, np.zeros_like(mask)) is None


SPEC = """
name: dialogue-test
loudness: {measure: dialogue, target: -26.0, tolerance: 2.0, fallback: {below_fraction: 0.15, target: -20.0, tolerance: 2.0}}
true_peak_max_dbtp: -1.0
room_tone: true
output: {container: wav, sample_rate: 48000, bit_depth: 24}
"""


def judged(tmp_path, x: np.ndarray, mask: np.ndarray | None):
    import soundfile as sf

    from dxkit.deliver.check import check

    (tmp_path / "spec.yaml").write_text(SPEC)
    sf.write(tmp_path / "take.wav", x, RATE, subtype="FLOAT")
    result = check(tmp_path / "take.wav", str(tmp_path / "spec.yaml"), mask)
    return {r.name: r for r in result.requirements}


def test_a_dialogue_gated_spec_judges_the_lines_and_falls_back_when_there_are_few(tmp_path):
    mix, _, mask = lines_and_bed(seconds=20.0)
    reqs = judged(tmp_path, mix, mask)
    assert reqs["dialogue_lufs"].passed and reqs["dialogue_lufs"].measured == pytest.approx(-26.0, abs=0.1)
    few = mask.copy()
    few[np.flatnonzero(few)[len(np.flatnonzero(few)) // 10:]] = False  # 5 % of the file
    reqs = judged(tmp_path, mix, few)
    assert "dialogue_lufs" not in reqs and "full programme" in reqs["integrated_lufs"].limit
    reqs = judged(tmp_path, mix, None)
    assert not reqs["dialogue_lufs"].passed and "dialogue detector" in reqs["dialogue_lufs"].reason
    assert not reqs["head_room_tone_s"].passed and "dialogue detector" in reqs["head_room_tone_s"].reason


def test_room_tone_requirements_say_which_end_fails(tmp_path):
    _, mask = take(0.7, 0.3)
    rng = np.random.default_rng(1)
    x = rng.standard_normal(round(4.0 * RATE)) * 1e-3
    x[round(0.7 * RATE):round(3.7 * RATE)] += 0.1 * np.sin(2 * np.pi * 300 * np.arange(3 * RATE) / RATE)
    reqs = judged(tmp_path, x, mask)
    assert reqs["head_room_tone_s"].passed and reqs["head_room_tone_s"].measured == pytest.approx(0.7)
    assert not reqs["tail_room_tone_s"].passed and reqs["tail_room_tone_s"].reason == "tail room tone is 0.30 s, under 1 s"


@pytest.mark.parametrize("share", [0.5, 0.05])
def test_delivery_aims_the_dialogue_at_target_or_the_programme_at_the_fallback(tmp_path, share):
    """Lines under a louder bed, delivered to a dialogue-gated spec: the dialogue lands on -26,
    read again from the written file by our meter and by libebur128's block energies; with too
    little dialogue the full programme lands on -20."""
    import soundfile as sf

    from dxkit.deliver import delivery
    from dxkit.deliver.dialogue import dialogue_loudness
    from dxkit.deliver.meter import measure

    mix, _, mask = lines_and_bed(seconds=20.0)
    mix = mix * 10 ** (-8 / 20)  # start off target
    if share < 0.5:
        mask[np.flatnonzero(mask)[int(share * mask.size):]] = False
    (tmp_path / "spec.yaml").write_text(SPEC.replace("room_tone: true", "room_tone: false"))
    sf.write(tmp_path / "take.wav", mix, RATE, subtype="FLOAT")
    result = delivery.deliver(tmp_path / "take.wav", tmp_path / "out.wav", str(tmp_path / "spec.yaml"), dialogue=mask)
    assert result.passed
    written = measure(tmp_path / "out.wav")
    if share < 0.5:
        assert written.integrated_lufs == pytest.approx(-20.0, abs=0.1)
        assert libebur128(tmp_path / "out.wav")["integrated_lufs"] == pytest.approx(-20.0, abs=0.1)
    else:
        assert dialogue_loudness(written.k_power_10ms, written.subblock_frames, mask).lufs == pytest.approx(-26.0, abs=0.1)
        assert libebur128_dialogue_lufs(tmp_path / "out.wav", mask) == pytest.approx(-26.0, abs=0.1)
        assert written.integrated_lufs > -20  # the bed is far louder: a plain meter would have turned it all down


def test_the_netflix_preset_puts_the_dialogue_at_minus_27(tmp_path):
    import soundfile as sf

    from dxkit.deliver import delivery

    mix, _, mask = lines_and_bed(seconds=20.0)
    sf.write(tmp_path / "take.wav", mix, RATE, subtype="FLOAT")
    result = delivery.deliver(tmp_path / "take.wav", tmp_path / "out.wav", "netflix", dialogue=mask)
    assert result.passed
    assert libebur128_dialogue_lufs(tmp_path / "out.wav", mask) == pytest.approx(-27.0, abs=0.1)
    assert libebur128(tmp_path / "out.wav")["true_peak_dbtp"] <= -2.0


def test_a_dialogue_gated_delivery_without_a_mask_says_what_it_needs(tmp_path):
    import soundfile as sf

    from dxkit.deliver import delivery
    from dxkit.deliver.errors import AudioInputError

    mix, _, _ = lines_and_bed(seconds=5.0)
    (tmp_path / "spec.yaml").write_text(SPEC)
    sf.write(tmp_path / "take.wav", mix, RATE, subtype="FLOAT")
    with pytest.raises(AudioInputError, match="dialogue"):
        delivery.deliver(tmp_path / "take.wav", tmp_path / "out.wav", str(tmp_path / "spec.yaml"))
    assert not (tmp_path / "out.wav").exists()


def test_the_report_shades_the_dialogue_and_draws_its_loudness(tmp_path):
    import soundfile as sf

    from dxkit.deliver import delivery
    from dxkit.deliver.report import render_html

    mix, _, mask = lines_and_bed(seconds=8.0)
    (tmp_path / "spec.yaml").write_text(SPEC.replace("room_tone: true", "room_tone: false"))
    sf.write(tmp_path / "take.wav", mix, RATE, subtype="FLOAT")
    result = delivery.deliver(tmp_path / "take.wav", tmp_path / "out.wav", str(tmp_path / "spec.yaml"), dialogue=mask)
    assert result.dialogue is not None and result.dialogue.sum() == mask.sum()
    page = render_html(result)
    assert "dialogue_lufs" in page and "dialogue-gated" in page


def test_a_dialogue_gated_delivery_with_no_dialogue_long_enough_says_so(tmp_path):
    import soundfile as sf

    from dxkit.deliver import delivery
    from dxkit.deliver.errors import AudioInputError

    mix, _, mask = lines_and_bed(seconds=5.0)
    blips = np.zeros_like(mask)
    blips[::50] = True  # 2 % dialogue, in 10 ms pieces
    (tmp_path / "spec.yaml").write_text(SPEC.replace(", fallback: {below_fraction: 0.15, target: -20.0, tolerance: 2.0}", ""))
    sf.write(tmp_path / "take.wav", mix, RATE, subtype="FLOAT")
    with pytest.raises(AudioInputError, match="no dialogue to gate on"):
        delivery.deliver(tmp_path / "take.wav", tmp_path / "out.wav", str(tmp_path / "spec.yaml"), dialogue=blips)
