"""Training and test examples synthesised from clean speech: what each network gets as input and
what it should give back.

- denoise: speech (randomly EQ'd, sometimes in a room) + noise at SNR -5 to 30 dB, speech at -35
  to -15 dBFS, sometimes clipped. Target: the speech as it was before the noise (room included).
- dereverb: speech in a room (RT60 0.2 to 1.3 s) with faint residual noise. Target: the speech
  through the direct path and the first 50 ms of the room (``rooms.early_part``).
- deplosive: speech, sometimes in a room and with noise (at SNR -5 to 30 dB): the take as it
  meets the network first in the chain, in both input and target; plus pops at onsets
  (``plosives``), dry, as a pop happens at the microphone. Target: the speech (with that room
  and noise) without the pops.
- chain: all three at once, for the combined test: the room, pops at the microphone (dry), noise
  at SNR -5 to 30 dB. Target: the speech through the direct path and the first 50 ms, no pops.

SNR is the active-speech RMS (``levels.active_rms``: the 10 ms frames within 40 dB of the loudest)
over the RMS of the whole noise segment; speech level is the active-speech RMS in dBFS.

An ``Example`` keeps the bandwidth the clean speech really has, so the loss can ignore the bins
above it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from . import plosives, real_noise, render, rooms
from .corpus import Clip
from .eq import random_eq
from .levels import active_rms
from .noise import noise as synth_noise
from .noise import unit_rms

TASKS = ("denoise", "dereverb", "deplosive", "chain")


@dataclass(frozen=True)
class MixSettings:
    """The random ranges of the degradations (see the data configs for the shipped values)."""

    snr_db: tuple[float, float] = (-5.0, 30.0)
    level_dbfs: tuple[float, float] = (-35.0, -15.0)
    p_eq: float = 0.5
    p_clip: float = 0.05
    p_reverb: float = 0.3
    residual_snr_db: tuple[float, float] = (25.0, 50.0)
    pops: tuple[int, int] = (1, 4)
    pop_gain_db: tuple[float, float] = (6.0, 20.0)
    p_user_noise: float = 0.8
    p_noisy_pops: float = 0.5
    noise_kinds: tuple[str, ...] | None = None
    augment_noise: bool = False
    p_band_limit: float = 0.0
    band_limits_hz: tuple[float, ...] = (4000.0, 8000.0, 11025.0, 16000.0, 22050.0)
    p_noise_band_limit: float = 0.0
    noise_band_limit_hz: tuple[float, float] = (1500.0, 20000.0)
    p_pause: float = 0.0
    pause_s: tuple[float, float] = (0.3, 1.0)


@dataclass
class Example:
    """One input/target pair at 48 kHz, mono float32, and the target's true bandwidth."""

    noisy: np.ndarray
    target: np.ndarray
    bandwidth_hz: float
    pop_mask: np.ndarray | None = field(default=None)


def pause(rng: np.random.Generator, speech: np.ndarray, seconds: tuple[float, float],
          rate: int = 48000, fade_s: float = 0.01) -> np.ndarray:
    """``speech`` with a stretch of ``seconds`` (uniform, at most half the segment) silenced at
    a random place, with 10 ms raised-cosine fades: the pause between two lines, where the
    noise is alone in the input and the target holds nothing (or the room's tail). Read
    speech has few pauses longer than a breath, so without this a network rarely hears noise
    with no speech under it, which is what an editor hears between lines."""
    n = len(speech)
    length = int(min(rng.uniform(*seconds), 0.5 * n / rate) * rate)
    start = int(rng.integers(0, n - length + 1))
    fade = int(fade_s * rate)
    gain = np.ones(n, np.float32)
    gain[start:start + length] = 0.0
    ramp = (0.5 + 0.5 * np.cos(np.linspace(0, np.pi, fade + 2)[1:-1])).astype(np.float32)
    lead, tail = max(start - fade, 0), min(start + length + fade, n)
    gain[lead:start] = ramp[fade - (start - lead):]
    gain[start + length:tail] = ramp[::-1][:tail - start - length]
    return speech * gain


def convolve(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """``x`` through the room ``rir``, as long as ``x`` (``render.convolve`` on numpy arrays)."""
    ir = np.asarray(rir[:len(x)], np.float32)
    return render.convolve(torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(ir)).numpy()


class Mixer:
    """Makes ``Example``s for one task from speech clips, noise clips and room responses."""

    def __init__(self, task: str, speech: list[Clip], rirs: list[np.ndarray] | None = None,
                 noise_clips: list[Clip] | None = None, settings: MixSettings = MixSettings()) -> None:
        if task not in TASKS:
            raise ValueError(f"unknown task {task!r}: use one of {', '.join(TASKS)}")
        if task in ("dereverb", "chain") and not rirs:
            raise ValueError(f"{task} needs room responses")
        self.task, self.speech, self.rirs = task, speech, rirs or []
        self.noise_clips, self.settings = noise_clips or [], settings
        lengths = np.array([len(c.audio) for c in speech], float)
        self.weights = lengths / lengths.sum()

    def pick(self, rng: np.random.Generator) -> Clip:
        return self.speech[rng.choice(len(self.speech), p=self.weights)]

    def segment(self, rng: np.random.Generator, n: int, clip: Clip) -> tuple[np.ndarray, float]:
        """``n`` samples of ``clip`` from a random offset (zero-padded if it is shorter)."""
        audio = clip.audio
        if len(audio) >= n:
            start = rng.integers(0, len(audio) - n + 1)
            return audio[start:start + n].copy(), clip.bandwidth_hz
        out = np.zeros(n, np.float32)
        start = rng.integers(0, n - len(audio) + 1)
        out[start:start + len(audio)] = audio
        return out, clip.bandwidth_hz

    def babble(self, rng: np.random.Generator, n: int, exclude: Clip | None = None) -> np.ndarray:
        """Three to eight other voices at random levels (never the clip being degraded)."""
        others = [c for c in self.speech if c is not exclude] or self.speech
        weights = np.array([len(c.audio) for c in others], float)
        picks = rng.choice(len(others), size=rng.integers(3, 9), p=weights / weights.sum())
        voices = [self.segment(rng, n, others[i])[0] for i in picks]
        return sum(v / active_rms(v) * 10 ** (rng.uniform(-6, 0) / 20) for v in voices)

    def noise(self, rng: np.random.Generator, n: int, speaker: Clip | None = None) -> np.ndarray:
        """``n`` samples of noise at unit RMS: the recordings in ``noise_clips`` (as they are, or
        augmented with ``augment_noise``) in ``p_user_noise`` of the draws, else synthetic;
        band-limited alone in ``p_noise_band_limit`` of the draws (a noise heard through a
        wall, a band-limited recording) at a log-uniform cutoff in ``noise_band_limit_hz``."""
        s = self.settings
        if self.noise_clips and rng.random() < s.p_user_noise:
            if s.augment_noise:
                x = real_noise.draw(rng, self.noise_clips, n)
            else:
                x = unit_rms(real_noise.piece(rng, self.noise_clips[rng.integers(len(self.noise_clips))].audio, n))
        else:
            kinds = list(s.noise_kinds) if s.noise_kinds else None
            x = synth_noise(rng, n, babble=lambda m: self.babble(rng, m, speaker), kinds=kinds)
        if s.p_noise_band_limit and rng.random() < s.p_noise_band_limit:
            cutoff = np.exp(rng.uniform(*np.log(s.noise_band_limit_hz)))
            x = unit_rms(render.band_limit_array(x, cutoff))
        return x

    def band_limit(self, rng: np.random.Generator, bandwidth_hz: float) -> float:
        """The band limit of the whole recording (0: none) in ``p_band_limit`` of the draws: one
        of ``band_limits_hz`` or the speech's own bandwidth, whichever is lower, so that speech
        and noise share it and bandwidth tells nothing about which is which."""
        s = self.settings
        if not s.p_band_limit or rng.random() >= s.p_band_limit:
            return 0.0
        return float(min(bandwidth_hz, s.band_limits_hz[rng.integers(len(s.band_limits_hz))]))

    def room(self, rng: np.random.Generator) -> np.ndarray:
        return self.rirs[rng.integers(len(self.rirs))]

    def example(self, rng: np.random.Generator, n: int, clip: Clip | None = None) -> Example:
        """One random example of ``n`` samples (from ``clip`` if given)."""
        if self.task in render.RECIPE_TASKS:
            recipe = self.recipe(rng, n, clip)
            noisy, target = render.render_one(recipe)
            return Example(noisy, target, recipe.bandwidth_hz)
        return self._whole(rng, n, clip)

    def dry(self, rng: np.random.Generator, n: int, clip: Clip) -> tuple[np.ndarray, float]:
        """A segment of ``clip``, sometimes EQ'd, sometimes with a pause, at a random level, and
        its bandwidth."""
        s = self.settings
        speech, bandwidth = self.segment(rng, n, clip)
        if s.p_pause and rng.random() < s.p_pause:
            speech = pause(rng, speech, s.pause_s)
        if rng.random() < s.p_eq:
            speech = random_eq(rng, speech)
        return speech / active_rms(speech) * np.float32(10 ** (rng.uniform(*s.level_dbfs) / 20)), bandwidth

    def recipe(self, rng: np.random.Generator, n: int, clip: Clip | None = None) -> render.Recipe:
        """A denoise or dereverb example before its room and noise (see ``render``)."""
        if self.task not in render.RECIPE_TASKS:
            raise ValueError(f"{self.task} examples are made whole, not from a recipe")
        s = self.settings
        clip = clip or self.pick(rng)
        speech, bandwidth = self.dry(rng, n, clip)
        denoise = self.task == "denoise"
        if denoise:  # the target keeps the room, if any
            room = self.room(rng) if self.rirs and rng.random() < s.p_reverb else np.ones(1, np.float32)
            target_ir = input_ir = room
        else:
            input_ir = self.room(rng)
            target_ir = rooms.early_part(input_ir)
        noise = self.noise(rng, n, clip)
        gain = 10 ** (-rng.uniform(*(s.snr_db if denoise else s.residual_snr_db)) / 20)
        limit = rng.uniform(0.3, 0.9) if denoise and rng.random() < s.p_clip else 0.0
        lowpass = self.band_limit(rng, bandwidth)
        return render.Recipe(np.asarray(speech, np.float32), target_ir, input_ir,
                             np.asarray(noise, np.float32), float(gain), float(limit),
                             lowpass or bandwidth, lowpass)

    def _whole(self, rng: np.random.Generator, n: int, clip: Clip | None) -> Example:
        """A deplosive or chain example, made whole on the CPU: its pops are placed on the
        speech as the room left it, so the room cannot wait for the training device."""
        s = self.settings
        clip = clip or self.pick(rng)
        speech, bandwidth = self.dry(rng, n, clip)
        mask = None
        if self.task == "deplosive":
            if self.rirs and rng.random() < s.p_reverb:  # the whole room: it runs before dereverb
                speech = convolve(speech, self.room(rng))
            if rng.random() < s.p_noisy_pops:  # it runs first in the chain, on noisy dialogue
                speech = speech + self.noise(rng, n, clip) * active_rms(speech) * 10 ** (-rng.uniform(*s.snr_db) / 20)
            target = speech
            noisy, mask = plosives.add_pops(rng, speech, rng.integers(s.pops[0], s.pops[1] + 1), s.pop_gain_db)
        else:  # chain: the room, then pops (a pop happens at the microphone, dry), then noise
            rir = self.room(rng)
            target = convolve(speech, rooms.early_part(rir))
            wet = convolve(speech, rir)
            popped, mask = plosives.add_pops(rng, wet, rng.integers(s.pops[0], s.pops[1] + 1), s.pop_gain_db)
            noisy = popped + self.noise(rng, n, clip) * active_rms(wet) * 10 ** (-rng.uniform(*s.snr_db) / 20)
        return Example(np.asarray(noisy, np.float32), np.asarray(target, np.float32), bandwidth, mask)
