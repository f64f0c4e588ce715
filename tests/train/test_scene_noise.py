"""Finding a scene's noise: where nobody speaks, by the detector, by ranges or room-tone files."""

import numpy as np
import pytest
import soundfile as sf

from dxkit.deliver.errors import AudioInputError
from dxkit.infer.detect import DialogueActivity
from dxkit.train.learn import SPEECH_DIR
from dxkit.train.scene_noise import CROSSFADE, NoiseError, find_noise, join, parse_range, quiet_stretches

RATE = 48000


def activity(probability: np.ndarray) -> DialogueActivity:
    return DialogueActivity(probability.astype(np.float32), probability >= 0.5)


def test_parse_range_reads_seconds_and_clock_times():
    assert parse_range("12.5-20") == (12.5, 20.0)
    assert parse_range("1:02-1:10.5") == (62.0, 70.5)
    assert parse_range("01:00:00-01:00:04") == (3600.0, 3604.0)
    for bad in ("20-12", "12", "a-b", "1-2-3", "-5-3"):
        with pytest.raises(ValueError):
            parse_range(bad)


def test_quiet_stretches_keep_away_from_dialogue_and_drop_short_ones():
    p = np.zeros(1000)
    p[300:400] = 0.9  # a line, 3.0-4.0 s
    p[700:705] = 0.4  # unsure (under the decision, over QUIET_PROBABILITY): not noise either
    p[900:1000] = 0.9
    got = quiet_stretches(activity(p), margin_s=0.25, shortest_s=0.3)
    assert got == [(0.0, 2.75), (4.25, 7.0), (7.05, 8.75)]
    # a gap between lines shorter than two margins plus the shortest stretch holds no noise
    p = np.zeros(300)
    p[:100] = p[160:] = 0.9
    assert quiet_stretches(activity(p), margin_s=0.25, shortest_s=0.3) == []


def test_join_crossfades_pieces_without_a_gap():
    a, b = np.ones(4800, np.float32), np.ones(4800, np.float32)
    out = join([a, b])
    assert len(out) == 9600 - 480
    assert np.max(np.abs(out - 1)) < 0.42  # equal-power crossfade of equal constants: a bump, no hole
    assert np.all(out > 0.99)


def test_ranges_take_those_samples_of_every_take_and_drop_digital_silence(tmp_path):
    rng = np.random.default_rng(0)
    take = (0.01 * rng.standard_normal(10 * RATE)).astype(np.float32)
    take[6 * RATE:7 * RATE] = 0.0  # digital silence inside the second range
    sf.write(tmp_path / "a.wav", take, RATE, subtype="FLOAT")
    found = find_noise([tmp_path / "a.wav"], ranges=[(5.0, 8.0), (1.0, 3.0)])  # in any order
    assert [(s.start_s, s.end_s) for s in found.stretches] == [(1.0, 3.0), (5.0, 8.0)]
    assert found.seconds == pytest.approx(4.0)  # 1 s of zeros dropped
    assert np.array_equal(found.audio[:RATE], take[RATE:2 * RATE])
    # the last fifth of the time (at least 1 s) is kept aside for the check, never learned from
    assert len(found.check) == pytest.approx(RATE, abs=CROSSFADE)
    assert np.array_equal(found.check[-RATE // 2:], take[8 * RATE - RATE // 2:8 * RATE])
    assert len(found.audio) == pytest.approx(3 * RATE, abs=2 * CROSSFADE)
    assert found.bandwidth_hz == RATE / 2


def test_stereo_noise_counts_time_and_checks_on_stretches_never_learned(tmp_path):
    rng = np.random.default_rng(5)
    left = (0.01 * rng.standard_normal(10 * RATE)).astype(np.float32)
    sf.write(tmp_path / "st.wav", np.stack([left, left * 0.5], axis=1), RATE, subtype="FLOAT")
    found = find_noise([tmp_path / "st.wav"], ranges=[(0.0, 5.0)])
    assert found.seconds == pytest.approx(5.0)  # time, not channels times time
    assert len(found.audio) + len(found.check) == pytest.approx(10 * RATE, abs=4 * CROSSFADE)
    head = found.check[:RATE // 2]  # the check starts at 4 s of the left channel, learned in neither
    assert np.allclose(head[CROSSFADE:], left[4 * RATE + CROSSFADE:4 * RATE + RATE // 2])
    with pytest.raises(NoiseError, match="found 2.00 s"):
        find_noise([tmp_path / "st.wav"], ranges=[(0.0, 2.0)])


def test_a_take_shorter_than_the_margins_is_no_crash(tmp_path):
    sf.write(tmp_path / "short.wav", np.zeros(RATE // 5, np.float32), RATE)
    assert quiet_stretches(activity(np.zeros(40))) == [(0.0, 0.4)]
    voiced = np.zeros(30)
    voiced[10:15] = 0.9
    assert quiet_stretches(activity(voiced)) == []  # 30 frames, fewer than the margin's window
    with pytest.raises(NoiseError, match="too little noise"):
        find_noise([tmp_path / "short.wav"])


def test_noise_files_are_used_whole_and_resampled(tmp_path):
    rng = np.random.default_rng(1)
    sf.write(tmp_path / "tone.flac", (0.01 * rng.standard_normal(4 * 16000)).astype(np.float32), 16000)
    sf.write(tmp_path / "take.wav", np.zeros(RATE, np.float32), RATE)
    found = find_noise([tmp_path / "take.wav"], noise_files=[tmp_path / "tone.flac"])
    assert found.seconds == pytest.approx(4.0, abs=0.02)
    assert found.bandwidth_hz == 8000.0
    assert [s.source for s in found.stretches] == ["tone.flac"]


def test_too_little_noise_and_ranges_outside_the_take_are_clear_errors(tmp_path):
    rng = np.random.default_rng(2)
    sf.write(tmp_path / "t.wav", (0.01 * rng.standard_normal(5 * RATE)).astype(np.float32), RATE, subtype="FLOAT")
    with pytest.raises(NoiseError, match="too little noise.*found 2.00 s in the noise range"):
        find_noise([tmp_path / "t.wav"], ranges=[(0.0, 2.0)])
    with pytest.raises(NoiseError, match="starts after the end of the take"):
        find_noise([tmp_path / "t.wav"], ranges=[(6.0, 9.0)])
    sf.write(tmp_path / "silent.wav", np.zeros(5 * RATE, np.float32), RATE)
    with pytest.raises(NoiseError, match="found none"):
        find_noise([tmp_path / "silent.wav"], ranges=[(0.0, 5.0)])
    with pytest.raises(AudioInputError):
        find_noise([tmp_path / "missing.wav"])


def test_the_detector_finds_the_pauses_between_lines(tmp_path):
    """Three lines of the shipped clean speech with 2 s pauses over a steady noise: the noise
    found lies in the pauses (and the head and tail), never in a line."""
    rng = np.random.default_rng(3)
    lines = [sf.read(SPEECH_DIR / name, dtype="float32")[0] for name in
             ("vctk_p225_003.flac", "vctk_p227_005.flac", "vctk_p228_008.flac")]  # 16 kHz
    pause = np.zeros(2 * 16000, np.float32)
    clean = np.concatenate([pause, lines[0], pause, lines[1], pause, lines[2], pause])
    clean = clean / np.max(np.abs(clean)) * 0.5
    take = clean + 0.003 * rng.standard_normal(len(clean)).astype(np.float32)
    sf.write(tmp_path / "take.wav", take, 16000, subtype="FLOAT")
    found = find_noise([tmp_path / "take.wav"])
    assert found.seconds >= 3.0
    hop = 160
    loud = np.convolve(np.abs(clean) > 0.01, np.ones(hop), "same") > 0
    for s in found.stretches:
        assert not loud[int(s.start_s * 16000):int(s.end_s * 16000)].any(), s
