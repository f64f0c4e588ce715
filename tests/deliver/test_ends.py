"""Fitting a file's ends to ACX's room tone on delivery (deliver/ends.py)."""

from dataclasses import replace

import numpy as np
import pytest
import soundfile as sf

from dxkit.deliver import delivery
from dxkit.deliver.bwf import Bext, WavMetadata, read_metadata, write_metadata

RATE = 48000
TONE_DB = -60.0
SPEC = """
name: room-tone-test
loudness: {measure: rms, target: -20.0, range: [-23.0, -18.0]}
true_peak_max_dbtp: -3.0
room_tone: true
output: {container: wav, sample_rate: 48000, bit_depth: 24}
"""


def take(head_s: float, tail_s: float, lines: int = 3, line_s: float = 1.5, gap_s: float = 0.6, seed: int = 0):
    """Room tone (white noise at ``TONE_DB`` RMS) throughout, with ``lines`` 'lines' (a 300 Hz
    tone at -26 dBFS RMS) after ``head_s``, ``gap_s`` apart, and ``tail_s`` after the last.
    Returns the take and its 10 ms dialogue mask."""
    rng = np.random.default_rng(seed)
    n = round((head_s + lines * line_s + (lines - 1) * gap_s + tail_s) * RATE)
    x = rng.standard_normal(n) * 10 ** (TONE_DB / 20)
    mask = np.zeros(round(n / RATE * 100), bool)
    for i in range(lines):
        a = round((head_s + i * (line_s + gap_s)) * RATE)
        x[a:a + round(line_s * RATE)] += 10 ** (-26 / 20) * np.sqrt(2) * np.sin(2 * np.pi * 300 * np.arange(round(line_s * RATE)) / RATE)
        mask[a // (RATE // 100):(a + round(line_s * RATE)) // (RATE // 100)] = True
    return x.astype(np.float32), mask


def delivered(tmp_path, x: np.ndarray, mask: np.ndarray, **kw):
    (tmp_path / "spec.yaml").write_text(SPEC)
    sf.write(tmp_path / "take.wav", x, RATE, subtype="FLOAT")
    result = delivery.deliver(tmp_path / "take.wav", tmp_path / "out.wav", str(tmp_path / "spec.yaml"),
                              dialogue=mask, **kw)
    return result, {r.name: r for r in result.requirements}


def test_a_long_head_is_cut_and_a_short_tail_lengthened_with_the_files_own_room_tone(tmp_path):
    x, mask = take(head_s=2.0, tail_s=0.3)
    result, reqs = delivered(tmp_path, x, mask)
    assert result.edits == ["head room tone 2.00 s, cut to 0.75 s",
                            "tail room tone 0.30 s, lengthened to 2 s with the file's own"]
    assert reqs["head_room_tone_s"].measured == pytest.approx(0.75, abs=0.011)
    assert reqs["tail_room_tone_s"].measured == pytest.approx(2.0, abs=0.011)
    assert result.passed and result.to_json()["processing"]["edits"] == result.edits
    # the QC report draws "before" on the delivered file's timeline: the first line, 2 s into the
    # take, is 0.75 s into the delivered file
    from dxkit.deliver.report import on_delivered_timeline, render_html
    assert result.head_cut_s == pytest.approx(1.25, abs=0.001)
    assert result.to_json()["processing"]["head_cut_s"] == pytest.approx(1.25, abs=0.001)
    assert on_delivered_timeline(result, np.array([2.0]))[0] == pytest.approx(0.75, abs=0.011)
    assert 'The "before" curves are moved by -1.25 s: delivery took 1.25 s' in render_html(result)
    out, rate = sf.read(tmp_path / "out.wav")
    assert len(out) == pytest.approx(len(x) - 1.25 * RATE + 1.7 * RATE, abs=2)
    gain = 10 ** (result.plan.gain_db / 20)
    # the added room tone is room tone: its level within 1 dB of the take's, after the gain
    added = out[-round(1.6 * RATE):-round(0.05 * RATE)]
    level = 20 * np.log10(np.sqrt(np.mean(added ** 2)) / gain)
    assert level == pytest.approx(TONE_DB, abs=1.0)
    # and the lines are where the mask, moved by the cut, says
    first = np.flatnonzero(np.abs(out) > 0.5 * np.abs(out).max())[0] / RATE
    assert first == pytest.approx(0.75, abs=0.01)
    assert sf.read(tmp_path / "take.wav")[0].shape == x.shape  # the input is only read


def test_ends_in_range_are_left_alone_and_keep_ends_leaves_them(tmp_path):
    x, mask = take(head_s=0.7, tail_s=3.0)
    result, reqs = delivered(tmp_path, x, mask)
    assert result.edits == [] and result.passed and sf.info(tmp_path / "out.wav").frames == len(x)
    x, mask = take(head_s=2.0, tail_s=0.3)
    result, reqs = delivered(tmp_path, x, mask, fit_ends=False)
    assert result.edits == [] and sf.info(tmp_path / "out.wav").frames == len(x)
    assert not reqs["head_room_tone_s"].passed and not reqs["tail_room_tone_s"].passed


def test_a_sound_near_the_dialogues_level_in_the_head_is_not_cut(tmp_path):
    x, mask = take(head_s=2.0, tail_s=2.0)
    x[round(0.3 * RATE):round(0.5 * RATE)] += 0.05 * np.random.default_rng(3).standard_normal(round(0.2 * RATE))
    result, reqs = delivered(tmp_path, x, mask)
    assert result.edits == [] and any("cut it by hand" in w for w in result.warnings)
    assert reqs["head_room_tone_s"].reason == "head room tone is 2.00 s, over 1 s"


def test_a_short_end_with_no_room_tone_anywhere_says_so(tmp_path):
    x, mask = take(head_s=0.2, tail_s=2.0, gap_s=0.2)  # the tail is the only room tone, and it is in range
    x[-round(2.0 * RATE):] = 0.0  # ... and digital silence
    result, reqs = delivered(tmp_path, x, mask)
    assert result.edits == []
    assert any("no room tone to lengthen it with" in w for w in result.warnings)
    assert not reqs["head_room_tone_s"].passed and "digital silence" in reqs["tail_room_tone_s"].reason


def test_a_digital_silence_end_is_not_changed(tmp_path):
    x, mask = take(head_s=2.0, tail_s=2.0)
    x[:round(2.0 * RATE)] = 0.0
    result, reqs = delivered(tmp_path, x, mask)
    assert result.edits == [] and any("digital silence" in w for w in result.warnings)
    assert not reqs["head_room_tone_s"].passed


def test_the_time_reference_moves_with_the_head(tmp_path):
    x, mask = take(head_s=2.0, tail_s=2.0)
    (tmp_path / "spec.yaml").write_text(SPEC)
    sf.write(tmp_path / "plain.wav", x, RATE, subtype="FLOAT")
    bext = replace(Bext.new("scene 4 take 2", "recorder"), time_reference=10 * RATE)
    write_metadata(tmp_path / "plain.wav", tmp_path / "take.wav", WavMetadata(bext=bext))
    result = delivery.deliver(tmp_path / "take.wav", tmp_path / "out.wav", str(tmp_path / "spec.yaml"), dialogue=mask)
    assert result.edits == ["head room tone 2.00 s, cut to 0.75 s"]
    assert read_metadata(tmp_path / "out.wav").bext.time_reference == 10 * RATE + round(1.25 * RATE)


def test_ixml_time_stamps_move_with_the_head():
    """iXML's mirror of the time reference and its own time stamp, at the stamp's own rate."""
    ixml = (b"<BWFXML><BWF_TIME_REFERENCE_LOW>480000</BWF_TIME_REFERENCE_LOW><BWF_TIME_REFERENCE_HIGH>0"
            b"</BWF_TIME_REFERENCE_HIGH><SPEED><TIMESTAMP_SAMPLE_RATE>96000</TIMESTAMP_SAMPLE_RATE>"
            b"<TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI>1</TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI>"
            b"<TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO>4294967000</TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO></SPEED></BWFXML>")
    bext = replace(Bext.new("scene 4 take 2", "recorder"), time_reference=10 * RATE)
    moved = WavMetadata(bext=bext, ixml=ixml).moved(RATE, RATE)  # one second cut
    stamp = (1 << 32) + 4294967000 + 96000
    assert moved.bext.time_reference == 11 * RATE
    assert b"<BWF_TIME_REFERENCE_LOW>528000<" in moved.ixml
    assert b"<TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_HI>%d<" % (stamp >> 32) in moved.ixml
    assert b"<TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO>%d<" % (stamp & 0xFFFFFFFF) in moved.ixml
    alone = WavMetadata(ixml=ixml).moved(-RATE, RATE)  # no bext: the stamp still moves (back)
    assert b"<TIMESTAMP_SAMPLES_SINCE_MIDNIGHT_LO>%d<" % (4294967000 - 96000) in alone.ixml


def test_keep_ends_is_for_a_delivery(tmp_path, capsys):
    from dxkit.cli import main

    x, _ = take(head_s=0.7, tail_s=2.0)
    sf.write(tmp_path / "take.wav", x, RATE, subtype="FLOAT")
    assert main(["restore", str(tmp_path / "take.wav"), "-o", str(tmp_path / "out.wav"), "--keep-ends"]) == 2
    assert "--keep-ends are for the delivery" in capsys.readouterr().err
    assert not (tmp_path / "out.wav").exists()


def test_a_file_that_starts_on_the_first_word_gets_room_tone_butted_before_it(tmp_path):
    x, mask = take(head_s=0.0, tail_s=2.0)
    result, reqs = delivered(tmp_path, x, mask)
    assert result.edits == ["head room tone 0.00 s, lengthened to 0.75 s with the file's own"]
    assert reqs["head_room_tone_s"].passed
    out, _ = sf.read(tmp_path / "out.wav")
    gain = 10 ** (result.plan.gain_db / 20)
    added = round(0.75 * RATE)
    # the first word is untouched: no crossfade over it (24-bit output, a leveler-free spec)
    np.testing.assert_allclose(out[added:added + 2400], x[:2400] * gain, atol=1e-4)


def test_room_tone_is_not_copied_from_a_pause_with_a_dropout(tmp_path):
    from dxkit.deliver.ends import plan_ends
    from dxkit.deliver.dialogue import with_dialogue
    from dxkit.deliver.meter import Meter

    x, mask = take(head_s=0.2, tail_s=2.0, gap_s=0.8)
    x[round(2.2 * RATE):round(2.3 * RATE)] = 0.0  # a muted breath in the first pause (1.7 to 2.5 s)
    meter = Meter(RATE, 1)
    meter.add(x[None])
    ends = plan_ends(with_dialogue(meter.result(), mask), mask)
    assert ends.head < 0 and ends.tone is not None
    overlaps = ends.tone[0] < round(2.3 * RATE) and ends.tone[1] > round(2.2 * RATE)
    assert not overlaps  # quieter on average, but it would copy the dropout


def test_nothing_is_cut_without_dialogue_to_compare_it_with(tmp_path):
    x, mask = take(head_s=2.0, tail_s=2.0)
    sparse = np.zeros_like(mask)
    sparse[np.flatnonzero(mask)[::10]] = True  # lines as 10 ms blips: no 100 ms of dialogue anywhere
    result, _ = delivered(tmp_path, x, sparse)
    assert not any(e.startswith("head") for e in result.edits)
    assert any("no 100 ms of dialogue" in w for w in result.warnings)
