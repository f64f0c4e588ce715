"""Fitting a file's ends to its room-tone rule: ACX wants 0.5 to 1 s of room tone before the
first words and 1 to 5 s after the last (``dialogue.HEAD_TONE_S``, ``TAIL_TONE_S``).

Delivery to a spec that judges room tone fixes an end that is out of range, as an audiobook
editor would, and says what it did:

- too long: the room tone farthest from the dialogue is cut, leaving ``HEAD_AIM_S`` (head) or
  ``TAIL_AIM_S`` (tail), with a ``FADE_S`` fade at the new edge. Only a stretch the detector
  calls room tone *and* whose loudest 100 ms stays ``GUARD_DB`` under the dialogue's median
  100 ms is cut: a sound near the dialogue's level (a word the detector missed) is never thrown
  away; such an end is left as it is, with a warning. A too-long end of digital silence is not
  cut either (it needs a recorded room tone; the check says so);
- too short (a 0 s end included): room tone from the file itself is added, up to the aim: the
  quietest stretch without dialogue and without 10 ms of digital silence (``MARGIN_S`` away
  from any line, at least ``SHORTEST_TONE_S``), looped where it is too short, joined by
  ``JOIN_S`` equal-power crossfades (room tone against room tone: uncorrelated, so power, not
  amplitude, must add to one); the join into the file stays inside the room tone the end had,
  never over the dialogue.

The ends are planned on the meter's 10 ms sub-blocks and the dialogue mask
(``plan_ends``) and written as a float WAV with the rest of the file copied in blocks
(``write_ends``): memory stays flat in the file's length.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from .audio import AudioInfo, read_blocks
from .dialogue import DIGITAL_SILENCE_DB, fit_mask
from .errors import OutputError
from .meter import Measurement, window_power

HEAD_AIM_S = 0.75
TAIL_AIM_S = 2.0
# A stretch to cut: its loudest 100 ms at least this far under the dialogue's median 100 ms. A
# word the detector missed peaks above that median; a breath, a click, a car's residue after
# denoising stay under it (on the demo take: 9 dB under). A missed whisper would be cut, but
# only one more than HEAD_AIM_S before the first line the detector found.
GUARD_DB = 6.0
MARGIN_S = 0.1  # room tone to copy keeps this far from any line (a breath, the detector's edges)
SHORTEST_TONE_S = 0.3
FADE_S = 0.01
JOIN_S = 0.05


@dataclass(frozen=True)
class Ends:
    """What to do to a file's ends, in frames at its rate: cut (> 0) or add (< 0) at the head
    and at the tail; the room tone to add (``tone``: a range of frames of the file); what was
    done (``done``) and what could not be (``warnings``), in words; how much room tone each end
    had (``had``)."""

    head: int = 0
    tail: int = 0
    tone: tuple[int, int] | None = None
    done: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    had: tuple[int, int] = (0, 0)  # frames of room tone the file had at (head, tail): the joins stay inside it

    @property
    def changed(self) -> bool:
        return bool(self.head or self.tail)

    def shifted_mask(self, active: np.ndarray, frames: int, sample_rate: int) -> np.ndarray:
        """The dialogue mask (10 ms frames) of the file these ends make from one of ``frames``."""
        active = np.asarray(active, bool)
        shift = round(self.head * 100 / sample_rate)  # frames of 10 ms taken off the head (< 0: added)
        out = active[shift:] if shift >= 0 else np.concatenate((np.zeros(-shift, bool), active))
        count = round((frames - self.head - self.tail) * 100 / sample_rate)
        return np.concatenate((out[:count], np.zeros(max(count - out.size, 0), bool)))


def _windows_db(power: np.ndarray, sub_len: int, width: int = 10) -> np.ndarray:
    """RMS in dB of each run of ``width`` sub-blocks (100 ms), or of all of ``power`` when shorter."""
    return 10 * np.log10(np.maximum(window_power(power, min(width, max(power.size, 1)), sub_len), 1e-20))


def plan_ends(m: Measurement, active: np.ndarray) -> Ends:
    """The edits that bring ``m``'s head and tail room tone (``m.room_tone``, measured with the
    dialogue mask ``active``) into range; no edits where both are in range or there is no
    dialogue."""
    if m.room_tone is None:
        return Ends()
    rate, sub = m.sample_rate, m.subblock_frames
    step = sub / rate
    mask = fit_mask(active, m.plain_power_10ms.size, sub, rate)
    power = m.plain_power_10ms
    inside = window_power(mask.astype(float), 10, 1) > 1 - 1e-9  # 100 ms windows all dialogue
    speech = _windows_db(power, sub)[inside] if power.size >= 10 else np.zeros(0)
    speech_db = float(np.median(speech)) if speech.size else None
    source = _quietest_tone(power, mask, sub, rate)
    edits, done, warnings = {}, [], []
    for tone, aim in zip(m.room_tone, (HEAD_AIM_S, TAIL_AIM_S)):
        if tone.shortest_s <= tone.seconds <= tone.longest_s:
            continue  # in range (digital silence or not: the check says which)
        if tone.seconds < tone.shortest_s:
            if source is None:
                warnings.append(f"{tone.end} room tone is {tone.seconds:.2f} s, under {tone.shortest_s:g} s, and the "
                                f"file has no room tone to lengthen it with (no {SHORTEST_TONE_S:g} s without dialogue)")
                continue
            edits[tone.end] = -round((aim - tone.seconds) * rate)
            done.append(f"{tone.end} room tone {tone.seconds:.2f} s, lengthened to {aim:g} s with the file's own")
            continue
        if tone.rms_db < DIGITAL_SILENCE_DB:
            warnings.append(f"{tone.end} room tone is digital silence: its length is not changed (record room tone)")
            continue
        cut = round((tone.seconds - aim) / step)
        part = power[:cut] if tone.end == "head" else power[power.size - cut:]
        loudest = float(_windows_db(part, sub).max())
        if speech_db is None or loudest > speech_db - GUARD_DB:
            under = "" if speech_db is None else f": it holds a sound {speech_db - loudest:.0f} dB under the dialogue"
            warnings.append(f"{tone.end} room tone is {tone.seconds:.2f} s, over {tone.longest_s:g} s, and not cut"
                            f"{under or ': no 100 ms of dialogue to compare it with'} (cut it by hand)")
            continue
        edits[tone.end] = cut * sub
        done.append(f"{tone.end} room tone {tone.seconds:.2f} s, cut to {aim:g} s")
    adds = min(edits.values(), default=0) < 0
    had = (round(m.room_tone[0].seconds * rate), round(m.room_tone[1].seconds * rate))
    return Ends(edits.get("head", 0), edits.get("tail", 0), source if adds else None, done, warnings, had)


def _quietest_tone(power: np.ndarray, mask: np.ndarray, sub: int, rate: int) -> tuple[int, int] | None:
    """Frames ``(start, stop)`` of the quietest stretch without dialogue and without a 10 ms of
    digital silence (a muted breath would copy as a dropout), ``MARGIN_S`` from any line (not
    from the file's edges), at least ``SHORTEST_TONE_S``."""
    margin, shortest = round(MARGIN_S * rate / sub), round(SHORTEST_TONE_S * rate / sub)
    silent = power / sub < 10 ** (DIGITAL_SILENCE_DB / 10)
    edges = np.flatnonzero(np.diff(np.concatenate(([1], (mask | silent).view(np.int8), [1]))))
    best, best_db = None, np.inf
    for a, b in zip(edges[::2], edges[1::2]):
        a, b = a + (margin if a > 0 else 0), b - (margin if b < mask.size else 0)
        if b - a < shortest:
            continue
        db = 10 * np.log10(power[a:b].sum() / ((b - a) * sub))
        if db < best_db:
            best, best_db = (a * sub, b * sub), db
    return best


def _read(info: AudioInfo, start: int, stop: int) -> np.ndarray:
    """Frames ``[start, stop)`` of the file, ``[C, T]`` float32 (a few seconds at most)."""
    x = sf.read(str(info.path), start=start, stop=stop, dtype="float32", always_2d=True)[0].T
    return np.ascontiguousarray(x if info.pick is None else x[list(info.pick)])


def _joined(first: np.ndarray, second: np.ndarray, join: int) -> np.ndarray:
    """``first`` then ``second``, overlapped by ``join`` frames (0: butted) with an equal-power
    crossfade: room tone against room tone is uncorrelated, so power, not amplitude, adds to one."""
    if join == 0:
        return np.concatenate((first, second), axis=1)
    t = (np.arange(join) + 0.5) / join
    fade = first[:, -join:] * np.cos(t * np.pi / 2) + second[:, :join] * np.sin(t * np.pi / 2)
    return np.concatenate((first[:, :-join], fade.astype(np.float32), second[:, join:]), axis=1)


def _room_tone(info: AudioInfo, source: tuple[int, int], frames: int) -> np.ndarray:
    """``frames`` of room tone from ``source``: its middle, or (where it is shorter) it looped
    with crossfades; reads no more than it uses."""
    start, stop = source
    if frames <= stop - start:
        middle = start + (stop - start - frames) // 2
        return _read(info, middle, middle + frames)
    tone = _read(info, start, stop)
    join = min(round(JOIN_S * info.sample_rate), tone.shape[1] // 3)
    out = tone
    while out.shape[1] < frames:
        out = _joined(out, tone, join)
    return out[:, :frames]


def write_ends(info: AudioInfo, ends: Ends, path: Path) -> None:
    """Write ``info``'s file with ``ends`` applied to ``path`` (float WAV, RF64 when long). A
    join of added room tone stays inside the room tone the end had (none: butted), never over
    the dialogue."""
    rate = info.sample_rate
    fade, join = round(FADE_S * rate), round(JOIN_S * rate)
    start, stop = max(ends.head, 0), info.frames - max(ends.tail, 0)
    ramp = ((np.arange(fade) + 0.5) / fade).astype(np.float32)
    head, middle_from = np.zeros((info.channels, 0), np.float32), start
    if ends.head < 0:
        overlap = min(join, ends.had[0])
        added = _room_tone(info, ends.tone, -ends.head + overlap)
        added[:, :fade] *= ramp
        head, middle_from = _joined(added, _read(info, 0, overlap), overlap), overlap
    elif ends.head > 0:
        head, middle_from = _read(info, start, start + fade) * ramp, start + fade
    tail, middle_to = np.zeros((info.channels, 0), np.float32), stop
    if ends.tail < 0:
        overlap = min(join, ends.had[1])
        added = _room_tone(info, ends.tone, -ends.tail + overlap)
        added[:, -fade:] *= ramp[::-1]
        tail, middle_to = _joined(_read(info, stop - overlap, stop), added, overlap), stop - overlap
    elif ends.tail > 0:
        tail, middle_to = _read(info, stop - fade, stop) * ramp[::-1], stop - fade
    total = head.shape[1] + (middle_to - middle_from) + tail.shape[1]
    kind = "RF64" if total * info.channels * 4 > 2 ** 31 else "WAV"
    try:
        with sf.SoundFile(str(path), "w", rate, info.channels, "FLOAT", format=kind) as f:
            f.write(head.T)
            at = 0
            for block in read_blocks(info):
                a, b = max(middle_from - at, 0), min(middle_to - at, block.shape[1])
                if a < b:
                    f.write(block[:, a:b].T)
                at += block.shape[1]
            f.write(tail.T)
    except (OSError, sf.LibsndfileError) as exc:  # a full disk: the caller removes the scratch file
        raise OutputError(f"{path.parent}: cannot write the file with its ends fitted ({exc})") from None
