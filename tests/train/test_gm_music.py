"""The detector's General MIDI music: random pieces that are music (notes on several channels,
drums on the percussion channel some of the time), the same for the same seed, and rendered by
FluidSynth where it is installed; the validation list parses into its sections."""

import shutil

import numpy as np
import pytest

from dxkit.train import activity_validation, gm_music


def notes(piece) -> list[tuple[int, int]]:
    return [(m.channel, m.note) for track in piece.tracks for m in track if m.type == "note_on"]


def test_a_piece_has_chords_bass_and_often_a_melody_and_drums():
    pieces = [gm_music.compose(np.random.default_rng(seed), 10.0) for seed in range(20)]
    for piece in pieces:
        channels = {c for c, _ in notes(piece)}
        assert {0, 1} <= channels and len(notes(piece)) > 20
    assert sum(gm_music.DRUMS in {c for c, _ in notes(p)} for p in pieces) >= 5  # drums more than now and then
    assert notes(gm_music.compose(np.random.default_rng(3), 10.0)) == notes(pieces[3])  # a seed gives its piece


@pytest.mark.skipif(shutil.which("fluidsynth") is None or not gm_music.SOUND_FONT.exists(),
                    reason="needs fluidsynth and the GM sound font (Debian: fluidsynth fluid-soundfont-gm)")
def test_a_piece_renders_to_48k_audio(tmp_path):
    rng = np.random.default_rng(0)
    audio = gm_music.render(rng, gm_music.compose(rng, 4.0), 4.0, tmp_path)
    assert audio.shape == (4 * 48000,) and audio.dtype == np.float32
    assert np.abs(audio).max() == pytest.approx(10 ** (-1 / 20), rel=1e-3)  # peak at -1 dBFS
    assert np.sqrt(np.mean(audio ** 2)) > 0.01


def test_the_validation_list_has_speech_ambiences_and_effects():
    sections = activity_validation.sections()
    assert set(sections) == {"speech", "ambiences", "effects"}
    assert all(len(names) >= 5 for names in sections.values())


def test_validation_and_test_material_do_not_overlap():
    from pathlib import Path

    from dxkit.train.corpus import read_exclusions

    held_out = read_exclusions(Path(__file__).resolve().parents[2] / "data" / "evalset" / "heldout.txt")
    assert held_out and not held_out & read_exclusions(activity_validation.LIST)
