"""The dialogue detector's examples: labels where the speech is, silence and music labelled none."""

import numpy as np
import pytest

from dxkit.train.activity import ActivityMixer, ActivitySettings, speech_activity
from dxkit.train.corpus import Clip
from dxkit.train.music import synthetic

RATE = 48000


def tone_line(seconds: float, on: tuple[float, float]) -> np.ndarray:
    x = np.zeros(int(seconds * RATE), np.float32)
    a, b = int(on[0] * RATE), int(on[1] * RATE)
    x[a:b] = 0.1 * np.sin(2 * np.pi * 200 * np.arange(b - a) / RATE)
    return x


def test_activity_is_where_the_voice_is_and_fills_short_gaps():
    x = tone_line(3.0, (0.5, 1.0)) + tone_line(3.0, (1.1, 2.0))  # a 100 ms gap: one line
    active = speech_activity(x)
    assert active[50:200].all() and not active[:50].any() and not active[200:].any()
    x = tone_line(3.0, (0.5, 1.0)) + tone_line(3.0, (1.5, 2.0))  # a 500 ms gap: two lines
    assert not speech_activity(x)[110:140].any()


def test_examples_label_their_own_speech_and_nothing_else():
    rng = np.random.default_rng(0)
    clips = [Clip("v", tone_line(4.0, (0.0, 4.0)), 24000.0)]
    quiet = ActivitySettings(p_no_speech=0.0, p_no_background=1.0, p_eq=0.0, p_reverb=0.0, p_band_limit=0.0,
                             gap_s=(0.5, 1.0))
    audio, labels = ActivityMixer(clips, [], [], [], quiet).example(rng, 4 * RATE)
    assert audio.shape == (4 * 16000,) and labels.shape == (400,)
    frame_power = (audio.reshape(400, 160) ** 2).mean(axis=1)
    loud = frame_power > frame_power.max() * 1e-3
    assert 0.2 < labels.mean() < 0.9 and (labels.astype(bool) == loud).mean() > 0.97
    none = ActivitySettings(p_no_speech=1.0, p_no_background=0.0, p_music=1.0)
    audio, labels = ActivityMixer(clips, [], [], [], none).example(rng, 4 * RATE)
    assert not labels.any() and np.sqrt(np.mean(audio ** 2)) > 1e-4  # music, labelled no dialogue


def test_synthetic_music_is_unit_rms_and_deterministic():
    a = synthetic(np.random.default_rng(3), RATE)
    b = synthetic(np.random.default_rng(3), RATE)
    assert np.array_equal(a, b) and np.sqrt(np.mean(a.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-3)


def test_babble_is_a_crowd_at_unit_rms():
    from dxkit.train.activity import babble

    rng = np.random.default_rng(0)
    clips = [np.sin(np.arange(3 * 48000) * (0.01 + 0.002 * i)).astype(np.float32) for i in range(5)]
    crowd = babble(rng, clips, 48000 * 2)
    assert crowd.shape == (96000,) and np.sqrt(np.mean(crowd ** 2)) == pytest.approx(1.0, rel=1e-3)
    frames = crowd[:96000 // 480 * 480].reshape(-1, 480)
    assert (np.sqrt(np.mean(frames ** 2, axis=1)) > 0.05).mean() > 0.9  # voices overlap: hardly a pause
    assert np.array_equal(babble(np.random.default_rng(0), clips, 96000), crowd)


def test_a_detector_file_whose_name_holds_a_plus_is_one_network(tmp_path):
    """``dialogue_check.ours`` joins names with ``+``, but not the name of a file that exists."""
    import shutil
    from pathlib import Path

    from dxkit.train.dialogue_check import ours

    weights = Path(__file__).resolve().parents[2] / "models" / "weights" / "activity.safetensors"
    shutil.copy(weights, tmp_path / "round+1.safetensors")
    x = np.random.default_rng(0).standard_normal(48000).astype(np.float32) * 0.05
    np.testing.assert_array_equal(ours(str(tmp_path / "round+1.safetensors"))(x), ours("activity")(x))
