"""Measuring with a dialogue mask: dialogue-gated loudness and the room tone at a file's ends.

``deliver/`` does not detect dialogue (the detector is a network, run by ``infer/``); it is
handed a mask, one value per 10 ms of the file, true where dialogue is, and measures with it
on the meter's 10 ms sub-blocks (``Measurement.k_power_10ms``).

Dialogue-gated loudness is BS.1770-5 integrated loudness (400 ms blocks, 100 ms hop, absolute
gate -70 LUFS, relative gate -10 LU) over the gating blocks that hold dialogue throughout (all
40 of their 10 ms sub-blocks): a block half dialogue, half a louder music bed would read the
bed. The detector's mask already spans the short gaps between words. Netflix's figure comes
from Dolby Dialogue Intelligence, whose classifier is not public; this is the same idea (speech
gating in place of level gating over the whole programme) with our own detector.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .meter import (GATING_HOP_SUBBLOCKS, MOMENTARY_SUBBLOCKS, RELATIVE_GATE_LU, Measurement, gated_loudness,
                    window_power)


@dataclass(frozen=True)
class DialogueLoudness:
    """Loudness over the dialogue, and how much of the programme is dialogue."""

    lufs: float | None  # None where no gating block holds dialogue (or all are gated out)
    fraction: float  # share of the programme's 10 ms sub-blocks that hold dialogue


def fill_gaps(active: np.ndarray, shortest: int) -> np.ndarray:
    """``active`` with every run of False shorter than ``shortest`` frames between two True
    frames set True: the pauses inside a line belong to it."""
    out = np.asarray(active, bool).copy()
    on = np.flatnonzero(out)
    if on.size < 2:
        return out
    steps = np.diff(on)
    for g in np.flatnonzero((steps > 1) & (steps - 1 < shortest)):
        out[on[g] + 1:on[g + 1]] = True
    return out


def drop_short(active: np.ndarray, shortest: int) -> np.ndarray:
    """``active`` with every run of True shorter than ``shortest`` frames set False."""
    out = np.asarray(active, bool).copy()
    edges = np.flatnonzero(np.diff(np.concatenate(([0], out.view(np.int8), [0]))))
    for start, stop in zip(edges[::2], edges[1::2]):
        if stop - start < shortest:
            out[start:stop] = False
    return out


def segments(active: np.ndarray, frame_s: float = 0.01) -> list[tuple[float, float]]:
    """``(start s, end s)`` of each run of True frames."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], np.asarray(active, bool).view(np.int8), [0]))))
    return [(round(a * frame_s, 3), round(b * frame_s, 3)) for a, b in zip(edges[::2], edges[1::2])]


def fit_mask(active: np.ndarray, count: int, sub_len: int | None = None, sample_rate: int | None = None) -> np.ndarray:
    """A mask of 10 ms frames read onto ``count`` sub-blocks of the meter, 'no dialogue' past
    its end. With ``sub_len`` and ``sample_rate`` it is read by time: at 11.025 and 22.05 kHz a
    sub-block is a whole number of samples, not exactly 10 ms, and an hour would drift by 8 s."""
    active = np.asarray(active, bool)
    frames = np.arange(count)
    if sub_len and sample_rate and sub_len * 100 != sample_rate:
        frames = frames * sub_len * 100 // sample_rate
    mask = np.zeros(count, bool)
    inside = frames < active.size
    mask[inside] = active[frames[inside]]
    return mask


def dialogue_loudness(k_power_10ms: np.ndarray, sub_len: int, active: np.ndarray,
                      sample_rate: int | None = None) -> DialogueLoudness:
    """BS.1770 integrated loudness over the gating blocks that hold dialogue.

    ``k_power_10ms``, ``sub_len`` and ``sample_rate`` are the meter's (``Measurement``);
    ``active`` holds one value per 10 ms (see ``fit_mask``)."""
    active = fit_mask(active, k_power_10ms.size, sub_len, sample_rate)
    fraction = float(active.mean()) if active.size else 0.0
    blocks = window_power(k_power_10ms, MOMENTARY_SUBBLOCKS, sub_len)[::GATING_HOP_SUBBLOCKS]
    share = window_power(active.astype(float), MOMENTARY_SUBBLOCKS, 1)[::GATING_HOP_SUBBLOCKS]
    lufs, _ = gated_loudness(blocks[share > 1 - 1e-9], RELATIVE_GATE_LU)
    return DialogueLoudness(lufs, fraction)


def with_dialogue(m: Measurement, active: np.ndarray) -> Measurement:
    """``m`` with its dialogue-gated loudness, dialogue fraction and room tone at each end, for
    the mask ``active``."""
    gated = dialogue_loudness(m.k_power_10ms, m.subblock_frames, active, m.sample_rate)
    tone = room_tone(m.plain_power_10ms, m.subblock_frames, m.sample_rate, active)
    return replace(m, dialogue_lufs=gated.lufs, dialogue_fraction=gated.fraction, room_tone=tone)


# ACX: "0.5 to 1 second of room tone at the head, 1 to 5 seconds at the tail" of every file.
HEAD_TONE_S = (0.5, 1.0)
TAIL_TONE_S = (1.0, 5.0)
DIGITAL_SILENCE_DB = -90.0  # room tone quieter than this (RMS) is digital silence; 16-bit
# TPDF dither alone reads about -98 dB, the quietest real rooms -70 to -80


@dataclass(frozen=True)
class RoomTone:
    """The stretch before the first (head) or after the last (tail) dialogue of a file."""

    end: str  # "head" or "tail"
    seconds: float
    rms_db: float  # unweighted, as ACX measures its noise floor
    shortest_s: float
    longest_s: float

    @property
    def problem(self) -> str:
        """Why this end fails ACX, or '' when it passes."""
        if self.seconds < self.shortest_s:
            return f"{self.end} room tone is {self.seconds:.2f} s, under {self.shortest_s:g} s"
        if self.seconds > self.longest_s:
            return f"{self.end} room tone is {self.seconds:.2f} s, over {self.longest_s:g} s"
        if self.rms_db < DIGITAL_SILENCE_DB:
            return f"{self.end} room tone is digital silence ({self.rms_db:.1f} dB RMS)"
        return ""


def room_tone(plain_power_10ms: np.ndarray, sub_len: int, sample_rate: int,
              active: np.ndarray) -> tuple[RoomTone, RoomTone] | None:
    """The head and tail room tone around the dialogue in ``active`` (one value per 10 ms);
    None when there is no dialogue at all."""
    active = fit_mask(active, plain_power_10ms.size, sub_len, sample_rate)
    lines = np.flatnonzero(active)
    if lines.size == 0:
        return None
    step_s = sub_len / sample_rate

    def tone(end: str, part: slice, limits: tuple[float, float]) -> RoomTone:
        power = plain_power_10ms[part]
        mean = power.sum() / max(power.size * sub_len, 1)
        rms_db = 10 * np.log10(mean) if mean > 0 else -np.inf
        return RoomTone(end, power.size * step_s, float(rms_db), *limits)

    return (tone("head", slice(0, lines[0]), HEAD_TONE_S),
            tone("tail", slice(lines[-1] + 1, None), TAIL_TONE_S))
