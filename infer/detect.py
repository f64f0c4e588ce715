"""Where dialogue is in a file: the detector (``models/activity.py``) streamed over it in bounded
memory, one decision per 10 ms.

The file is read block by block, mixed to one signal (the centre channel of a 3.0, 5.0, 5.1 or
7.1 mix, where dialogue lives by convention; the mean of the channels otherwise: mono, stereo, a
recorder's tracks; ``deliver/layout.py``), resampled to
16 kHz and cut into pieces of ``PIECE_FRAMES`` frames that overlap by the network's view
either side, so each frame gets the same probability as in one pass over the whole file
(tested). A frame is dialogue where its probability reaches ``THRESHOLD``; then gaps under
``FILL_GAP_S`` inside a line are filled and runs under ``SHORTEST_S`` dropped (a cough, a
click).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import soxr
import torch

from dxkit import models
from dxkit.deliver.audio import AudioInfo, probe, read_blocks
from dxkit.deliver.layout import layout_of, of_file, selection
from dxkit.deliver.dialogue import drop_short, fill_gaps, segments
from dxkit.models.activity import HOP, RATE

NETWORK = "activity"
THRESHOLD = 0.5
FILL_GAP_S = 0.2
SHORTEST_S = 0.1
PIECE_FRAMES = 6000  # 60 s of frames through the network at a time
FRAME_S = 0.01


@dataclass(frozen=True)
class DialogueActivity:
    """One value per 10 ms frame of the file: the detector's probability, and the decision."""

    probability: np.ndarray  # float32
    active: np.ndarray  # bool

    @property
    def fraction(self) -> float:
        return float(self.active.mean()) if self.active.size else 0.0

    def segments(self) -> list[tuple[float, float]]:
        """``(start s, end s)`` of each stretch of dialogue."""
        return segments(self.active, FRAME_S)


def decide(probability: np.ndarray, threshold: float = THRESHOLD) -> np.ndarray:
    """Frames of dialogue from probabilities: threshold, fill short gaps, drop short runs."""
    active = fill_gaps(probability >= threshold, round(FILL_GAP_S / FRAME_S))
    return drop_short(active, round(SHORTEST_S / FRAME_S))


def _voice(block: np.ndarray, channels: tuple[int, ...]) -> np.ndarray:
    """The one signal detection listens to, from a ``[C, T]`` block: the mean of ``channels``
    (``Layout.dialogue``: a mix's centre, else every channel)."""
    return block[channels[0]] if len(channels) == 1 else block[list(channels)].mean(axis=0)


class Detector:
    """Probabilities for a stream of 16 kHz audio, piece by piece (see the module docstring)."""

    def __init__(self, net: torch.nn.Module, piece_frames: int = PIECE_FRAMES) -> None:
        self.net = net.eval()
        self.piece = piece_frames
        self.context = net.context_frames + 2  # + the STFT window's reach into neighbouring frames
        self._audio = np.zeros(0, np.float32)  # from frame ``_start - context`` on (or from 0)
        self._start = 0  # first frame not yet decided
        self._out: list[np.ndarray] = []

    def push(self, audio: np.ndarray, last: bool = False) -> None:
        self._audio = np.concatenate((self._audio, audio.astype(np.float32)))
        while True:
            have = len(self._audio) // HOP  # whole frames held, counted from ``first``
            first = max(self._start - self.context, 0)
            ready = first + have - (0 if last else self.context)  # frames whose view is complete
            stop = min(self._start + self.piece, ready)
            if stop <= self._start or (not last and stop < self._start + self.piece):
                return
            end = min(first + have, stop + self.context)
            # At the file's end the network gets every sample left, as a pass over the whole
            # file would (the last frame's window reaches into a part frame).
            upto = len(self._audio) if last and end == first + have else (end - first) * HOP
            with torch.inference_mode():
                logits = self.net(torch.from_numpy(self._audio[:upto])[None])[0]
            keep = logits[self._start - first:stop - first]
            self._out.append(torch.sigmoid(keep).numpy().astype(np.float32))
            self._start = stop
            drop = max(self._start - self.context, 0) - first
            self._audio = self._audio[drop * HOP:]
            if stop >= ready:
                return

    def result(self) -> np.ndarray:
        return np.concatenate(self._out) if self._out else np.zeros(0, np.float32)


def detect_array(audio: np.ndarray, sample_rate: int, net: torch.nn.Module | None = None,
                 layout: str | None = None) -> DialogueActivity:
    """Dialogue in ``audio`` (``[C, T]`` or ``[T]`` at ``sample_rate``; its channels a mix by
    their count, or ``layout``), one value per 10 ms."""
    audio = np.asarray(audio, np.float32)
    voice = _voice(audio, layout_of(audio.shape[0], given=layout).dialogue) if audio.ndim == 2 else audio
    frames = len(voice) * 100 // sample_rate
    mono = soxr.resample(voice, sample_rate, RATE, quality="HQ").astype(np.float32) if sample_rate != RATE else voice
    detector = Detector(net or models.load(NETWORK))
    detector.push(mono, last=True)
    probability = _fit(detector.result(), frames)
    return DialogueActivity(probability, decide(probability))


def detect(path: str | os.PathLike, net: torch.nn.Module | None = None, layout: str | None = None,
           track: str | None = None) -> DialogueActivity:
    """Dialogue in the audio file at ``path``, streamed, one value per 10 ms of the file;
    ``layout`` where the file's channel mask or count does not say what its channels are;
    ``track``: listen to that one of a recorder's tracks (else to all of them)."""
    info: AudioInfo = probe(path)
    lay = of_file(info, layout)
    if track is not None:
        info, lay = selection(info, lay, track)
    channels = lay.dialogue
    detector = Detector(net or models.load(NETWORK))
    resampler = soxr.ResampleStream(info.sample_rate, RATE, 1, dtype="float32", quality="HQ") \
        if info.sample_rate != RATE else None
    for block in read_blocks(info):
        voice = np.ascontiguousarray(_voice(block, channels))
        detector.push(resampler.resample_chunk(voice) if resampler else voice)
    tail = resampler.resample_chunk(np.zeros(0, np.float32), last=True) if resampler else np.zeros(0, np.float32)
    detector.push(tail, last=True)
    probability = _fit(detector.result(), info.frames * 100 // info.sample_rate)
    return DialogueActivity(probability, decide(probability))


def _fit(probability: np.ndarray, frames: int) -> np.ndarray:
    """Probabilities for exactly ``frames`` frames (a resampler may leave a frame short)."""
    out = np.zeros(frames, np.float32)
    n = min(frames, probability.size)
    out[:n] = probability[:n]
    return out
