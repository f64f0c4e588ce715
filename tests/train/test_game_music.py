"""Excerpts of recorded music for the detector's training (train/game_music.py)."""

import numpy as np
import pytest
import soundfile as sf

from dxkit.train.game_music import RATE, excerpts, write_excerpts


def test_excerpts_are_evenly_spaced_whole_pieces():
    audio = np.arange(100, dtype=np.float32)
    pieces = excerpts(audio, rate=1, seconds=30, count=3)
    assert [p[0] for p in pieces] == [0, 35, 70] and all(len(p) == 30 for p in pieces)
    assert pieces[-1][-1] == 99  # the last reaches the end


def test_a_track_gives_no_more_pieces_than_it_holds_and_a_short_one_itself():
    audio = np.arange(70, dtype=np.float32)
    assert len(excerpts(audio, rate=1, seconds=30, count=4)) == 2
    short = np.ones(20, np.float32)
    assert [len(p) for p in excerpts(short, rate=1, seconds=30, count=4)] == [20]


def test_write_excerpts_cuts_each_long_track_to_mono_48k_and_skips_short_ones(tmp_path):
    tracks = tmp_path / "music"
    tracks.mkdir()
    rng = np.random.default_rng(0)
    sf.write(tracks / "Long Theme.ogg", (rng.standard_normal((12 * 22050, 2)) * 0.1).astype(np.float32), 22050)
    sf.write(tracks / "jingle.ogg", (rng.standard_normal((3 * 22050, 2)) * 0.1).astype(np.float32), 22050)
    (tracks / "notes.txt").write_text("not audio")
    written = write_excerpts({"game": tracks}, tmp_path / "out", seconds=5.0, per_track=2)
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == ["game_Long_Theme_0.flac", "game_Long_Theme_1.flac"]
    info = sf.info(tmp_path / "out" / names[0])
    assert (info.samplerate, info.channels, info.subtype) == (RATE, 1, "PCM_16")
    assert info.frames == 5 * RATE and written == pytest.approx(10.0)
    with pytest.raises(SystemExit, match="not installed"):
        write_excerpts({"gone": tmp_path / "nowhere"}, tmp_path / "out", seconds=5.0, per_track=2)
