"""Excerpts of recorded music for the detector's training (train/game_music.py)."""

import numpy as np

from dxkit.train.game_music import excerpts


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
