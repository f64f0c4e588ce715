"""Examples for the dialogue detector (``models/activity.py``): a speech track with pauses over a
background, and where the speech is, one label per 10 ms frame.

- Speech: pieces of 0.4 to 3 s from random clips, placed with pauses of 0.1 to 2 s between them
  (lines and gaps, as in an edit); in ``p_no_speech`` of the examples, none at all. Sometimes
  EQ'd, sometimes in a room; the active-speech level is uniform in ``level_dbfs``.
- Background, in all but ``p_no_background`` of the examples: a real recording from the noise
  folders (ambiences, machines, effects, crowds), babble (``babble``: a crowd made of 6 to 16
  training voices talking at once, in a room, never louder than the dialogue over it), a piece
  of music from the music folders
  (recorded, or rendered by ``gm_music.py``), synthetic noise, or synthetic music
  (``music.py``), at a speech-to-background ratio uniform in ``snr_db``; alone, at a level
  uniform in ``level_dbfs``. Crowd walla, babble and a public address are background, never
  dialogue: dialogue is the foreground voice. (The first detectors called 74 to 89 % of a
  held-out restaurant's and cafe's walla dialogue; the corpus has little walla to learn from.)
- Sometimes the whole example is band-limited (speech recorded at 16 kHz must read the same).
- Labels: ``speech_activity`` of the dry speech track, before room, EQ and background: a
  room's reverberant tail is not dialogue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

from dxkit.deliver.dialogue import fill_gaps

from . import music, real_noise, render
from .corpus import RATE, Clip
from .eq import random_eq
from .levels import FRAME, active_rms, frame_power
from .mixtures import convolve
from .noise import noise as synth_noise
from .noise import unit_rms

OUT_RATE = 16000  # what ActivityNet hears
ACTIVE_DB = 40.0  # a frame is speech within this many dB of its clip's loudest frame ...
FILL_GAP_S = 0.2  # ... and gaps shorter than this between speech frames count as speech
BABBLE_TALKERS = (6, 16)  # voices in a crowd


def speech_activity(speech: np.ndarray, loudest_power: float | None = None) -> np.ndarray:
    """Where ``speech`` (48 kHz, one voice, nothing else) is active, one value per whole 10 ms
    frame: frames within ``ACTIVE_DB`` of ``loudest_power`` (by default the loudest frame of
    ``speech``), with gaps under ``FILL_GAP_S`` between active frames filled (the short silences
    inside words and between them belong to the line)."""
    power = frame_power(speech)
    if power.size == 0:
        return np.zeros(0, bool)
    top = power.max() if loudest_power is None else loudest_power
    active = power > top * 10 ** (-ACTIVE_DB / 10) if top > 0 else np.zeros(power.size, bool)
    return fill_gaps(active, int(round(FILL_GAP_S * RATE / FRAME)))


@dataclass(frozen=True)
class ActivitySettings:
    """The random ranges of the detector's examples (see ``configs/data/activity.yaml``)."""

    snr_db: tuple[float, float] = (-5.0, 30.0)
    level_dbfs: tuple[float, float] = (-45.0, -15.0)
    piece_s: tuple[float, float] = (0.4, 3.0)
    gap_s: tuple[float, float] = (0.1, 2.0)
    p_no_speech: float = 0.4
    p_no_background: float = 0.1
    p_babble: float = 0.2  # of backgrounds: babble, in a room where there are rooms ...
    babble_snr_db: tuple[float, float] = (0.0, 30.0)  # ... under dialogue at least as loud as the crowd
    p_music: float = 0.5  # of the others: music, real (when given) or synthetic
    p_real_music: float = 0.5
    p_synthetic_noise: float = 0.2
    p_eq: float = 0.5
    p_reverb: float = 0.3
    p_band_limit: float = 0.3
    band_limits_hz: tuple[float, ...] = (4000.0, 8000.0, 11025.0, 16000.0)


class ActivityMixer:
    """Makes ``(audio at 16 kHz, labels per 10 ms frame)`` examples."""

    def __init__(self, speech: list[Clip], noise_clips: list[Clip], music_clips: list[Clip],
                 rirs: list[np.ndarray], settings: ActivitySettings = ActivitySettings()) -> None:
        if not speech:
            raise ValueError("the detector needs speech to learn from")
        self.speech, self.noise_clips, self.music_clips, self.rirs = speech, noise_clips, music_clips, rirs
        self.settings = settings
        self.loudest = [float(frame_power(c.audio).max(initial=0.0)) for c in speech]

    def speech_track(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """Pieces of random clips with pauses between them, and their activity."""
        s = self.settings
        track = np.zeros(n, np.float32)
        labels = np.zeros(n // FRAME, bool)
        at = int(rng.uniform(0, s.gap_s[1]) * RATE) // FRAME * FRAME  # pieces start on a frame
        while at < n - FRAME:
            i = int(rng.integers(len(self.speech)))
            audio = self.speech[i].audio
            length = min(int(rng.uniform(*s.piece_s) * RATE), len(audio), n - at)
            start = int(rng.integers(0, len(audio) - length + 1))
            part = audio[start:start + length]
            track[at:at + length] = part
            active = speech_activity(part, self.loudest[i])
            first = at // FRAME
            labels[first:first + active.size] = active[:labels.size - first]
            at = (at + length + int(rng.uniform(*s.gap_s) * RATE)) // FRAME * FRAME
        return track, fill_gaps(labels, int(round(FILL_GAP_S * RATE / FRAME)))

    def background(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, tuple[float, float]]:
        """``n`` samples of background at unit RMS, and the range of dialogue-to-background
        ratios it goes under dialogue at. A crowd is always in a room (where there are rooms):
        around the microphone, not at it; and never louder than the dialogue, which is the
        voice in front of it (a quieter voice inside a crowd is part of the crowd)."""
        s = self.settings
        if rng.random() < s.p_babble:
            room = self.rirs[rng.integers(len(self.rirs))] if self.rirs else None
            return babble(rng, [c.audio for c in self.speech], n, room), s.babble_snr_db
        if rng.random() < s.p_music:
            if self.music_clips and rng.random() < s.p_real_music:
                clip = self.music_clips[rng.integers(len(self.music_clips))]
                return unit_rms(real_noise.piece(rng, clip.audio, n)), s.snr_db
            return music.synthetic(rng, n), s.snr_db
        if self.noise_clips and rng.random() >= s.p_synthetic_noise:
            return real_noise.draw(rng, self.noise_clips, n), s.snr_db
        return synth_noise(rng, n), s.snr_db

    def example(self, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
        """One example of ``n`` samples at 48 kHz, returned at 16 kHz with its labels."""
        s = self.settings
        level = np.float32(10 ** (rng.uniform(*s.level_dbfs) / 20))
        if rng.random() < s.p_no_speech:
            speech, labels = np.zeros(n, np.float32), np.zeros(n // FRAME, bool)
        else:
            speech, labels = self.speech_track(rng, n)
            if rng.random() < s.p_eq:
                speech = random_eq(rng, speech)
            if self.rirs and rng.random() < s.p_reverb:
                speech = convolve(speech, self.rirs[rng.integers(len(self.rirs))])
            speech = speech / active_rms(speech) * level
        mix = speech
        if rng.random() >= s.p_no_background:
            bed, snr_db = self.background(rng, n)
            if labels.any():
                bed = bed * level * np.float32(10 ** (-rng.uniform(*snr_db) / 20))
            else:
                bed = bed * level
            mix = speech + bed
        if rng.random() < s.p_band_limit:
            mix = render.band_limit_array(mix, float(s.band_limits_hz[rng.integers(len(s.band_limits_hz))]))
        audio = soxr.resample(np.asarray(mix, np.float32), RATE, OUT_RATE, quality="HQ").astype(np.float32)
        return audio[:(n // FRAME) * (OUT_RATE // 100)], labels.astype(np.float32)


def babble(rng: np.random.Generator, clips: list[np.ndarray], n: int, room: np.ndarray | None = None,
           talkers: tuple[int, int] = BABBLE_TALKERS) -> np.ndarray:
    """``n`` samples of a crowd at unit RMS: ``talkers`` voices at once (from ``clips``, 48 kHz
    speech), each a run of pieces of 1 to 4 s of random clips, within 6 dB of each other, in
    ``room`` where one is given (one room for the crowd: it is around, not at the microphone)."""
    crowd = np.zeros(n, np.float32)
    for _ in range(int(rng.integers(talkers[0], talkers[1] + 1))):
        voice, at = np.zeros(n, np.float32), int(rng.integers(-RATE, 1))  # starts mid-sentence
        while at < n:
            audio = clips[rng.integers(len(clips))]
            length = min(int(rng.uniform(1.0, 4.0) * RATE), len(audio))
            start = int(rng.integers(0, len(audio) - length + 1))
            part = audio[start:start + length]
            lo, hi = max(at, 0), min(at + length, n)
            if hi > lo:
                voice[lo:hi] += part[lo - at:hi - at] / max(active_rms(part), 1e-6)
            at += length + int(rng.uniform(0.0, 0.3) * RATE)
        crowd += voice * np.float32(10 ** (rng.uniform(-6, 0) / 20))
    if room is not None:
        crowd = convolve(crowd, room)
    return unit_rms(crowd)
