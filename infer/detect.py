"""Where dialogue is in a file: two detectors streamed over it in bounded memory, one decision
per 10 ms.

The detectors are dxkit's own network (``models/activity.py``, trained here) and silero-vad's
(``models/silero_vad.py``, its weights as published); a frame's probability of dialogue is the
lower of the two. Each hears what the other misses: ours rejects crowds and walla between the
lines (silero-vad calls much of a cafe speech), silero-vad rejects music and noises ours calls
dialogue; chosen over either alone, and over other pairs, on the validation material
(``python -m dxkit.train.activity_validation``; README, "Dialogue"). One network can be given
instead (``net``), as ``dxkit eval`` and ``dxkit detect --network`` do.

The file is read block by block, mixed to one signal (the centre channel of a 3.0, 5.0, 5.1 or
7.1 mix, where dialogue lives by convention; the mean of the channels otherwise: mono, stereo, a
recorder's tracks; ``deliver/layout.py``), resampled to 16 kHz and brought to ``LEVEL_DB``
(its gated level, ``_level``, measured in a first pass over the file; at most ``MAX_GAIN_DB`` up
or down). The networks are not level-independent (silero-vad's hears a word's onset later in a
quiet file): without this a take restored 12 dB under its delivery level and the delivered file
gave ends 0.19 s apart, and dialogue-gated loudness did not follow a change of gain exactly; now
a file and a copy of it at another gain get the same decisions, as long as neither needs more
than ``MAX_GAIN_DB``. The file is decoded once: the first pass keeps its 16 kHz voice in an
anonymous temporary file (``_spooled``; 230 MB an hour, float32 so that both passes hear the same
samples) and detection reads that back. Where the temporary folder is a tmpfs, that is memory
(not counted in the process's RSS): set ``TMPDIR`` to a disk for long files. Our network gets
pieces of ``PIECE_FRAMES`` frames that overlap by its view either side; silero-vad gets whole
32 ms chunks in batches with its context and its recurrent state carried over: either way each
frame gets the same probability as in one pass over the whole file (tested). A frame is
dialogue where its probability reaches ``THRESHOLD``; then gaps under ``FILL_GAP_S`` inside a
line are filled and runs under ``SHORTEST_S`` dropped (a cough, a click).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import soxr
import torch

from dxkit import models
from dxkit.deliver.audio import AudioInfo, probe, read_blocks
from dxkit.deliver.errors import OutputError
from dxkit.deliver.layout import layout_of, of_file, selection
from dxkit.deliver.dialogue import drop_short, fill_gaps, segments
from dxkit.deliver.meter import integrated_from_subblocks, loudness_of_power
from dxkit.models.activity import HOP, RATE
from dxkit.models.silero_vad import CHUNK, CONTEXT, SileroVAD, frame

THRESHOLD = 0.5
LEVEL_DB = -23.0  # every file is heard at this gated level (``_level``), within MAX_GAIN_DB
MAX_GAIN_DB = 20.0  # quiet room tone alone is raised by no more than this
FILL_GAP_S = 0.2
SHORTEST_S = 0.1
PIECE_FRAMES = 6000  # 60 s of frames through the network at a time
PIECE_CHUNKS = 1875  # 60 s of silero-vad's 32 ms chunks at a time
FRAME_S = 0.01
SPOOL_SAMPLES = 10 * RATE  # read back from the temporary file 10 s at a time


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


def level_gain(level_db: float | None) -> float:
    """The gain that brings a signal of gated level ``level_db`` (``_level``) to ``LEVEL_DB``,
    within ``MAX_GAIN_DB``; 1 where there is no signal at all."""
    if level_db is None:
        return 1.0
    return float(10 ** (np.clip(LEVEL_DB - level_db, -MAX_GAIN_DB, MAX_GAIN_DB) / 20))


def _level(voices: Iterable[np.ndarray], rate: int) -> float | None:
    """The gated level of a mono signal at ``rate`` given as blocks (``[T]``), in dB: BS.1770's
    integrated loudness formula and gates (400 ms blocks, -70 absolute, -10 relative) on
    unweighted power (so not LUFS: the K-weighted meter cost more than detection itself, and
    this only sets a gain). Where no block passes the gates (near silence) or there is no whole
    block (under 0.4 s), the plain mean power's level; None for no samples."""
    sub = max(1, round(rate / 100))
    parts, rest, count = [], np.zeros(0, np.float32), 0
    for voice in voices:
        count += len(voice)
        x = np.concatenate((rest, np.square(voice, dtype=np.float32)))
        whole = len(x) // sub * sub
        parts.append(x[:whole].reshape(-1, sub).sum(axis=1, dtype=np.float64))
        rest = x[whole:]
    if not count:
        return None
    power = np.concatenate(parts)
    gated = integrated_from_subblocks(power, sub)
    if gated is not None:
        return gated
    return float(loudness_of_power((power.sum() + rest.sum(dtype=np.float64)) / count))


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


class SileroStream:
    """silero-vad's probabilities for a stream of 16 kHz audio: whole 32 ms chunks in batches of
    ``piece_chunks``, each batch after the last one's context and recurrent state; at the end a
    part chunk is padded with zeros, as silero-vad does. ``result`` gives one value per 10 ms
    frame: that of the chunk the frame starts in."""

    def __init__(self, net: SileroVAD, piece_chunks: int = PIECE_CHUNKS) -> None:
        self.net = net.eval()
        self.piece = piece_chunks
        self._audio = np.zeros(0, np.float32)
        self._context: torch.Tensor | None = None
        self._state = None
        self._samples = 0
        self._out: list[np.ndarray] = []

    def push(self, audio: np.ndarray, last: bool = False) -> None:
        self._samples += len(audio)
        self._audio = np.concatenate((self._audio, audio.astype(np.float32)))
        if last:
            self._audio = np.concatenate((self._audio, np.zeros(-len(self._audio) % CHUNK, np.float32)))
        while len(self._audio) >= (CHUNK if last else self.piece * CHUNK):
            n = min(len(self._audio) // CHUNK, self.piece) * CHUNK
            x = torch.from_numpy(self._audio[:n])
            with torch.inference_mode():
                p, self._state = self.net(frame(x, self._context), self._state)
            self._context = x[-CONTEXT:].clone()
            self._out.append(p.numpy().astype(np.float32))
            self._audio = self._audio[n:]

    def result(self) -> np.ndarray:
        chunks = np.concatenate(self._out) if self._out else np.zeros(0, np.float32)
        at = np.arange(self._samples // HOP) * HOP // CHUNK
        return chunks[np.minimum(at, max(chunks.size - 1, 0))] if chunks.size else np.zeros(at.size, np.float32)


def _streams(net: torch.nn.Module | None) -> list[Detector | SileroStream]:
    """A stream for ``net``, or for each of the shipped detector's two networks."""
    nets = [net] if net is not None else [models.load(name) for name in models.DETECTORS]
    return [SileroStream(n) if isinstance(n, SileroVAD) else Detector(n) for n in nets]


def _activity(streams: list[Detector | SileroStream], frames: int, either: bool) -> DialogueActivity:
    """The lower probability of ``streams`` (the higher, ``either``) for each of ``frames``
    frames, and the decision."""
    probability = (np.maximum if either else np.minimum).reduce([_fit(s.result(), frames) for s in streams])
    return DialogueActivity(probability, decide(probability))


def detect_array(audio: np.ndarray, sample_rate: int, net: torch.nn.Module | None = None,
                 layout: str | None = None, either: bool = False) -> DialogueActivity:
    """Dialogue in ``audio`` (``[C, T]`` or ``[T]`` at ``sample_rate``; its channels a mix by
    their count, or ``layout``), one value per 10 ms; by the shipped detector (both networks;
    ``either``: see ``detect``) or ``net`` alone."""
    audio = np.asarray(audio, np.float32)
    voice = _voice(audio, layout_of(audio.shape[0], given=layout).dialogue) if audio.ndim == 2 else audio
    frames = len(voice) * 100 // sample_rate
    mono = soxr.resample(voice, sample_rate, RATE, quality="HQ").astype(np.float32) if sample_rate != RATE else voice
    mono = mono * np.float32(level_gain(_level([mono], RATE)))  # measured at 16 kHz, as detect does
    streams = _streams(net)
    for stream in streams:
        stream.push(mono, last=True)
    return _activity(streams, frames, either)


def detect(path: str | os.PathLike, net: torch.nn.Module | None = None, layout: str | None = None,
           track: str | None = None, either: bool = False) -> DialogueActivity:
    """Dialogue in the audio file at ``path``, streamed, one value per 10 ms of the file, by
    the shipped detector (both networks) or ``net`` alone; ``layout`` where the file's channel
    mask or count does not say what its channels are; ``track``: listen to that one of a
    recorder's tracks (else to all of them). ``either``: a frame's probability is the higher of
    the two networks', not the lower: dialogue wherever either hears a voice, for finding where
    nobody speaks (``dxkit learn``'s noise)."""
    info: AudioInfo = probe(path)
    lay = of_file(info, layout)
    if track is not None:
        info, lay = selection(info, lay, track)
    channels = lay.dialogue
    streams = _streams(net)
    try:  # the input's own read errors are AudioInputError; an OSError here is the temporary file's
        with tempfile.TemporaryFile() as spool:
            gain = np.float32(level_gain(_level(_spooled(_voices(info, channels), spool), RATE)))
            spool.seek(0)
            while data := spool.read(SPOOL_SAMPLES * np.dtype(np.float32).itemsize):
                for stream in streams:
                    stream.push(np.frombuffer(data, np.float32) * gain)
    except OSError as exc:
        raise OutputError(f"cannot keep the detector's temporary copy of the voice in {tempfile.gettempdir()} "
                          f"({exc.strerror or exc}); set TMPDIR to a folder with room") from None
    for stream in streams:
        stream.push(np.zeros(0, np.float32), last=True)
    return _activity(streams, info.frames * 100 // info.sample_rate, either)


def _voices(info: AudioInfo, channels: tuple[int, ...]) -> Iterator[np.ndarray]:
    """The file's voice (``_voice`` of ``channels``), block by block, at 16 kHz."""
    resampler = soxr.ResampleStream(info.sample_rate, RATE, 1, dtype="float32", quality="HQ") \
        if info.sample_rate != RATE else None
    for block in read_blocks(info):
        voice = np.ascontiguousarray(_voice(block, channels))
        yield resampler.resample_chunk(voice) if resampler else voice
    if resampler:
        yield resampler.resample_chunk(np.zeros(0, np.float32), last=True)


def _spooled(voices: Iterable[np.ndarray], spool: BinaryIO) -> Iterator[np.ndarray]:
    """``voices`` as they come, each also appended to ``spool`` (float32), flushed at the end."""
    for voice in voices:
        spool.write(np.ascontiguousarray(voice, np.float32).tobytes())
        yield voice
    spool.flush()


def _fit(probability: np.ndarray, frames: int) -> np.ndarray:
    """Probabilities for exactly ``frames`` frames (a resampler may leave a frame short)."""
    out = np.zeros(frames, np.float32)
    n = min(frames, probability.size)
    out[:n] = probability[:n]
    return out
