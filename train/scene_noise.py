"""The noise of a scene: the stretches of its takes where nobody speaks, which ``dxkit learn``
adapts the denoiser to.

Where the noise is comes from one of three places, the first given wins:

- ``ranges``: the user says it (``--noise-range 12.5-20``, ``1:02-1:10``), in every take given;
- ``noise_files``: room-tone recordings, used whole (the takes themselves are not searched);
- the dialogue detector (``infer/detect.py``): the frames it does not call dialogue, kept
  ``MARGIN_S`` away from every line (its edges, breaths and the tail of a word are not noise) and
  below ``QUIET_PROBABILITY``, in runs of at least ``SHORTEST_S``.

A take is read in blocks (bounded memory); of each stretch only the channels a restore would
restore by default are kept (``Layout.dialogue``: a mix's centre, else every channel), each as a
piece of its own, resampled to 48 kHz. Digital silence (10 ms frames under ``SILENCE_DBFS``)
holds no noise to learn and is dropped. The pieces are joined with 10 ms crossfades into one
signal, at most ``MAX_SECONDS`` long.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soxr

from dxkit.deliver.audio import probe, read_blocks
from dxkit.deliver.errors import DxkitError
from dxkit.deliver.layout import of_file
from dxkit.infer.detect import FRAME_S, DialogueActivity, detect

RATE = 48000
MIN_SECONDS = 3.0  # less than this is too little to learn a noise from
MAX_SECONDS = 600.0
MARGIN_S = 0.25
SHORTEST_S = 0.3
QUIET_PROBABILITY = 0.3
SILENCE_DBFS = -100.0
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
    """The noise of a scene at 48 kHz, mono float32 ``[T]``, where it came from, and the
    bandwidth its recordings can carry (half the lowest of their rates)."""

    audio: np.ndarray
    stretches: tuple[Stretch, ...]
    bandwidth_hz: float

    @property
    def seconds(self) -> float:
        return len(self.audio) / RATE


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
    near = np.convolve(activity.active.astype(np.int32), np.ones(2 * margin + 1, np.int32), mode="same") > 0
    quiet = (activity.probability < QUIET_PROBABILITY) & ~near
    edges = np.flatnonzero(np.diff(np.concatenate(([0], quiet.astype(np.int8), [0]))))
    return [(s * FRAME_S, e * FRAME_S) for s, e in zip(edges[::2], edges[1::2])
            if (e - s) * FRAME_S >= shortest_s - 1e-9]


def _pieces(path: Path, spans: list[tuple[float, float]], layout: str | None,
            budget: float) -> tuple[list[np.ndarray], list[Stretch], int]:
    """The samples of ``spans`` in the file (its dialogue channels, each a piece), read in
    blocks; stops once ``budget`` seconds are kept. Returns the pieces, the stretches and the
    file's rate."""
    info = probe(path)
    channels = of_file(info, layout).dialogue
    rate = info.sample_rate
    bounds = [(round(s * rate), min(round(e * rate), info.frames)) for s, e in spans]
    bounds = [(s, e) for s, e in bounds if e > s]
    parts: list[list[np.ndarray]] = [[] for _ in bounds]
    position, kept = 0, 0.0
    for block in read_blocks(info):
        end = position + block.shape[1]
        for i, (s, e) in enumerate(bounds):
            if s < end and e > position:
                parts[i].append(block[list(channels), max(s, position) - position:min(e, end) - position])
        position = end
        if bounds and position >= bounds[-1][1]:
            break
    pieces, stretches = [], []
    for (s, e), got in zip(bounds, parts):
        if kept >= budget or not got:
            continue
        joined = np.concatenate(got, axis=1)
        pieces += list(joined)
        stretches.append(Stretch(path.name, s / rate, e / rate))
        kept += joined.shape[1] / rate * len(channels)
    return pieces, stretches, rate


def _drop_silence(x: np.ndarray) -> np.ndarray:
    """``x`` without its 10 ms frames of digital silence (under ``SILENCE_DBFS`` RMS)."""
    hop = RATE // 100
    frames = len(x) // hop
    power = np.mean(x[:frames * hop].reshape(frames, hop).astype(np.float64) ** 2, axis=1)
    keep = power >= 10 ** (SILENCE_DBFS / 10)
    return x[:frames * hop].reshape(frames, hop)[keep].reshape(-1)


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
               detector=None, min_seconds: float = MIN_SECONDS) -> SceneNoise:
    """The noise of the scene the ``takes`` were shot in (see the module docstring for where it
    is looked for). ``detector``: the activity network, if already loaded. Raises NoiseError
    when less than ``min_seconds`` of noise is found, AudioInputError for a file that cannot be
    read."""
    pieces: list[np.ndarray] = []
    stretches: list[Stretch] = []
    rates: list[int] = []
    for take in takes:  # every take must be readable, even when the noise comes from elsewhere
        probe(take)
    for path in map(Path, noise_files if noise_files and not ranges else takes):
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
            spans = quiet_stretches(detect(path, net=detector, layout=layout))
        got, where, rate = _pieces(path, spans, layout, MAX_SECONDS - sum(len(p) for p in pieces) / RATE)
        rates.append(rate)
        stretches += where
        for p in got:
            p48 = soxr.resample(p, rate, RATE, quality="HQ").astype(np.float32) if rate != RATE else p
            p48 = _drop_silence(p48)
            if len(p48) >= CROSSFADE * 2:
                pieces.append(p48)
    audio = join(pieces)[:int(MAX_SECONDS * RATE)]
    if len(audio) < min_seconds * RATE:
        found = f"found {len(audio) / RATE:.1f} s" if len(audio) else "found none"
        how = ("in the noise range(s) given" if ranges else "in the noise file(s)" if noise_files
               else "between the lines (where the dialogue detector hears no one)")
        raise NoiseError(f"too little noise to learn from: {found} {how}, need {min_seconds:g} s of noise "
                         "without speech; give a room-tone recording (--noise) or where it is (--noise-range)")
    return SceneNoise(audio, tuple(stretches), min(rates) / 2)
