"""The noise of a scene: the stretches of its takes where nobody speaks, which ``dxkit learn``
adapts the denoiser to.

Where the noise is comes from one of three places, the first given wins:

- ``ranges``: the user says it (``--noise-range 12.5-20``, ``1:02-1:10``), in every take given;
- ``noise_files``: room-tone recordings, used whole (the takes themselves are not searched);
- the dialogue detector (``infer/detect.py``): the frames neither of its networks calls
  dialogue (``either``: the higher probability of the two, where delivery takes the lower; on
  the learn bench's takes this keeps speech out of the noise under electrical static at 0 dB
  SNR, where one network alone let 30 to 50 % of the "noise" be lines), kept ``MARGIN_S`` away
  from every line (its edges, breaths and the tail of a word are not noise) and below
  ``QUIET_PROBABILITY``, in runs of at least ``SHORTEST_S``.

A take is read in blocks, and no more of it is kept than ``MAX_SECONDS`` of noise (bounded
memory); of each stretch only the channels a restore would restore by default are kept
(``Layout.dialogue``: a mix's centre, else every channel; not ``--channels``), resampled to
48 kHz. Digital silence (10 ms frames under ``DIGITAL_SILENCE_DB`` on every channel) holds no
noise to learn and is dropped. The stretches are then split in time, the last ``CHECK_SHARE``
(at least ``CHECK_MIN_S``) kept aside for the check (every channel of them, so that the check
never hears a stretch whose other channel was learned from), and each part's channels are
joined, one after another, with 10 ms crossfades into one signal.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from scipy.ndimage import binary_dilation

from dxkit.deliver.audio import probe, read_blocks
from dxkit.deliver.dialogue import DIGITAL_SILENCE_DB, segments
from dxkit.deliver.errors import DxkitError
from dxkit.deliver.layout import of_file
from dxkit.infer.detect import FRAME_S, DialogueActivity, detect

RATE = 48000
MIN_SECONDS = 3.0  # less than this is too little to learn a noise from
MAX_SECONDS = 600.0
MARGIN_S = 0.25
SHORTEST_S = 0.3
QUIET_PROBABILITY = 0.3
CHECK_SHARE = 0.2
CHECK_MIN_S = 1.0
CROSSFADE = 480  # 10 ms at 48 kHz


class NoiseError(DxkitError):
    """Not enough noise to learn from, or a noise range that is not in the take."""


@dataclass(frozen=True)
class Stretch:
    """A stretch of noise: ``source``'s seconds ``start_s`` to ``end_s``."""

    source: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class SceneNoise:
    """The noise of a scene at 48 kHz, mono float32 ``[T]``: ``audio`` to learn from and
    ``check`` to judge with (later stretches, never learned from); where it came from, how many
    seconds of it there are (time, whatever the channels), and the bandwidth its recordings can
    carry (half the lowest of their rates)."""

    audio: np.ndarray
    check: np.ndarray
    stretches: tuple[Stretch, ...]
    seconds: float
    bandwidth_hz: float


def parse_range(text: str) -> tuple[float, float]:
    """``"12.5-20"``, ``"1:02-1:10.5"`` or ``"00:01:02-00:01:10"`` -> seconds ``(start, end)``;
    ValueError if it is not a range with its end after its start."""
    parts = text.strip().split("-")
    if len(parts) != 2 or not all(re.fullmatch(r"(\d+:){0,2}\d+(\.\d*)?", p.strip()) for p in parts):
        raise ValueError(f"noise range {text!r}: give START-END in seconds or [H:]M:S, e.g. 12.5-20 or 1:02-1:10")
    start, end = (sum(float(v) * 60 ** i for i, v in enumerate(reversed(p.strip().split(":")))) for p in parts)
    if end <= start:
        raise ValueError(f"noise range {text!r}: the end must come after the start")
    return start, end


def quiet_stretches(activity: DialogueActivity, margin_s: float = MARGIN_S,
                    shortest_s: float = SHORTEST_S) -> list[tuple[float, float]]:
    """``(start s, end s)`` of the stretches with no dialogue: frames under ``QUIET_PROBABILITY``
    and at least ``margin_s`` from every frame called dialogue, in runs of ``shortest_s`` or more."""
    margin = round(margin_s / FRAME_S)
    near = binary_dilation(activity.active, np.ones(2 * margin + 1, bool)) if margin else activity.active
    quiet = (activity.probability < QUIET_PROBABILITY) & ~near
    return [(a, b) for a, b in segments(quiet, FRAME_S) if b - a >= shortest_s - 1e-9]


def _pieces(path: Path, spans: list[tuple[float, float]], layout: str | None,
            budget: float) -> tuple[list[np.ndarray], list[Stretch], int]:
    """The samples of ``spans`` in the file (its dialogue channels, ``[C, T]`` each), read in
    blocks, the spans in time order; stops once ``budget`` seconds are kept. Returns the pieces,
    the stretches (as kept) and the file's rate."""
    info = probe(path)
    channels = list(of_file(info, layout).dialogue)
    rate = info.sample_rate
    bounds = sorted((round(s * rate), min(round(e * rate), info.frames)) for s, e in spans)
    bounds = [(s, e) for s, e in bounds if e > s]
    parts: list[list[np.ndarray]] = [[] for _ in bounds]
    position, left = 0, int(budget * rate)
    for block in read_blocks(info):
        end = position + block.shape[1]
        for i, (s, e) in enumerate(bounds):
            take = min(e, end, max(s, position) + left) - max(s, position)
            if s < end and e > position and take > 0:
                parts[i].append(block[channels, max(s, position) - position:max(s, position) - position + take])
                left -= take
        position = end
        if not bounds or left <= 0 or position >= max(e for _, e in bounds):
            break
    pieces, stretches = [], []
    for (s, _), got in zip(bounds, parts):
        if got:
            joined = np.concatenate(got, axis=1)
            pieces.append(joined)
            stretches.append(Stretch(path.name, s / rate, (s + joined.shape[1]) / rate))
    return pieces, stretches, rate


def _drop_silence(x: np.ndarray) -> np.ndarray:
    """``x`` (``[C, T]``) without its 10 ms frames of digital silence on every channel."""
    hop = RATE // 100
    frames = x.shape[1] // hop
    power = np.mean(x[:, :frames * hop].reshape(x.shape[0], frames, hop).astype(np.float64) ** 2, axis=2)
    keep = (power >= 10 ** (DIGITAL_SILENCE_DB / 10)).any(axis=0)
    return x[:, :frames * hop].reshape(x.shape[0], frames, hop)[:, keep].reshape(x.shape[0], -1)


def _split(pieces: list[np.ndarray]) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """``[C, T]`` pieces in time order -> ``(to learn from, to check with)``: the last
    ``CHECK_SHARE`` of the time (at least ``CHECK_MIN_S``) goes to the check, a piece that
    straddles the cut cut in two, every channel alike."""
    total = sum(p.shape[1] for p in pieces)
    cut = total - max(int(CHECK_SHARE * total), int(CHECK_MIN_S * RATE))
    learn, check, at = [], [], 0
    for p in pieces:
        here = min(max(cut - at, 0), p.shape[1])
        if here:
            learn.append(p[:, :here])
        if here < p.shape[1]:
            check.append(p[:, here:])
        at += p.shape[1]
    return learn, check


def join(pieces: list[np.ndarray]) -> np.ndarray:
    """Pieces end to end, each joined to the next by a 10 ms equal-power crossfade."""
    fade = np.sin(0.5 * np.pi * (np.arange(CROSSFADE) + 0.5) / CROSSFADE).astype(np.float32)
    out = np.zeros(0, np.float32)
    for p in pieces:
        p = p.astype(np.float32)
        if len(out) >= CROSSFADE and len(p) >= CROSSFADE:
            out[-CROSSFADE:] = out[-CROSSFADE:] * fade[::-1] + p[:CROSSFADE] * fade
            p = p[CROSSFADE:]
        out = np.concatenate((out, p))
    return out


def find_noise(takes: list[str | os.PathLike], noise_files: list[str | os.PathLike] = (),
               ranges: list[tuple[float, float]] = (), layout: str | None = None,
               min_seconds: float = MIN_SECONDS) -> SceneNoise:
    """The noise of the scene the ``takes`` were shot in (see the module docstring for where it
    is looked for). Raises NoiseError
    when less than ``min_seconds`` of noise is found, AudioInputError for a file that cannot be
    read."""
    pieces: list[np.ndarray] = []
    stretches: list[Stretch] = []
    rates: list[int] = []
    for take in takes:  # every take must be readable, even when the noise comes from elsewhere
        probe(take)
    kept = 0.0
    for path in map(Path, noise_files if noise_files and not ranges else takes):
        if kept >= MAX_SECONDS:
            break
        info = probe(path)
        if ranges:
            outside = [r for r in ranges if r[0] >= info.duration_s]
            if outside:
                raise NoiseError(f"{path}: the noise range {outside[0][0]:g}-{outside[0][1]:g} s starts after "
                                 f"the end of the take ({info.duration_s:.1f} s)")
            spans = list(ranges)
        elif noise_files:
            spans = [(0.0, info.duration_s)]
        else:
            spans = quiet_stretches(detect(path, layout=layout, either=True))
        got, where, rate = _pieces(path, spans, layout, MAX_SECONDS - kept)
        rates.append(rate)
        stretches += where
        for p in got:
            p48 = soxr.resample(p.T, rate, RATE, quality="HQ").T.astype(np.float32) if rate != RATE else p
            p48 = _drop_silence(np.atleast_2d(p48))
            if p48.shape[1] >= CROSSFADE * 2:
                pieces.append(p48)
                kept += p48.shape[1] / RATE
    seconds = sum(p.shape[1] for p in pieces) / RATE
    if seconds < min_seconds:
        found = f"found {np.floor(seconds * 100) / 100:.2f} s" if pieces else "found none"
        how = ("in the noise range(s) given" if ranges else "in the noise file(s)" if noise_files
               else "between the lines (where the dialogue detector hears no one)")
        raise NoiseError(f"too little noise to learn from: {found} {how}, need {min_seconds:g} s of noise "
                         "without speech; give a room-tone recording (--noise) or where it is (--noise-range)")
    learn, check = _split(pieces)
    return SceneNoise(join([c for p in learn for c in p]), join([c for p in check for c in p]),
                      tuple(stretches), seconds, min(rates) / 2)
