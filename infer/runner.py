"""Restoring files: decode and conform on CPU threads, run the chain on the device, write or deliver.

One engine behind ``dxkit restore`` (a few files) and ``dxkit batch`` (thousands). Up to
``lanes`` channels, from as many files as fit, stream through the networks side by side
(``infer/stream.py``); when a file ends, the next one takes its lanes. Reading the next block of
every file and delivering finished files to a spec run on threads of their own while the device
computes. A file's memory is a few blocks, whatever its length; at most a few finished files wait
for delivery at a time, each as a float WAV beside its output.

Every output is written to a temporary file beside it and renamed only when complete. A file
that fails (unreadable, a decoded length that differs from its header, NaN from a network, a full
disk) has its temporary files removed and is reported in its ``Outcome``; the others go on. On
an interrupt, reading and computing stop at once; deliveries already under way finish (their
outputs are complete) and are reported; every other temporary file is removed.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import resource
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import soxr
import torch

from dxkit import models
from dxkit.deliver import __version__, specs
from dxkit.deliver.audio import (AudioInfo, atomic_path, check_output_path, first_line, probe, read_blocks,
                                 scratch_file)
from dxkit.deliver.bwf import WavMetadata, coding_history, read_metadata, write_metadata
from dxkit.deliver.delivery import DeliveryResult, deliver, restoration_text
from dxkit.deliver.errors import AudioInputError, DxkitError, OutputError
from dxkit.deliver.layout import Layout, layout_of, selection
from dxkit.deliver.meter import Meter
from dxkit.deliver.mixing import DIALOGUE_HIGHPASS_HZ
from dxkit.deliver.report import write_report
from dxkit.deliver.spectrum import SpectrumSketch

from .detect import detect
from .devices import default_precision, resolve_device
from .restored import SAME_DEPTH, RestoredWriter, output_depth
from .settings import Job, Settings
from .stream import Lane, Stream

RATE = 48000
LENGTH_SLACK = 64  # samples a resampler may fall short of the header's length at the very end
FILES_PER_DESCRIPTOR_BUDGET = 3  # an open file holds its decoder, its sink and a spare


@dataclass
class Outcome:
    """What happened to one job: ``failure`` is why it could not be written (None when it was)."""

    job: Job
    seconds_audio: float = 0.0
    delivery: DeliveryResult | None = None
    failure: DxkitError | None = None

    @property
    def error(self) -> str | None:
        """The failure in one line, or None."""
        return None if self.failure is None else first_line(self.failure)


@dataclass(eq=False)
class _File:
    job: Job
    info: AudioInfo
    stack: contextlib.ExitStack  # holds the output's temporary file until it is renamed or removed
    scratch: Path  # what the writer writes
    layout: Layout
    metadata: WavMetadata  # the input's
    restored: tuple[int, ...]  # the channels the networks restore; the others pass through
    final: Path | None = None  # --spec none with metadata: the scratch goes here with it ...
    carried: WavMetadata | None = None  # ... this metadata
    delivered: tuple[int, ...] = ()  # with a spec: the channels delivery reads (a track's, or all)
    lanes: list[Lane] = field(default_factory=list)
    blocks: Iterator[tuple[np.ndarray, np.ndarray] | None] | None = None  # (as read, at 48 kHz)
    received: Meter | None = None  # with a spec: the take as received, at 48 kHz, for the report's "before"
    received_sketch: SpectrumSketch | None = None  # ... and its spectrogram, when reports are written
    writer: RestoredWriter | None = None
    reading: cf.Future | None = None
    delivering: cf.Future | None = None


def load_chain(chain: list[str]) -> list[torch.nn.Module]:
    """The networks of ``chain`` (names or weight files), loaded once; each must restore audio."""
    nets = [models.load(name) for name in chain]
    for name, net in zip(chain, nets):
        if getattr(net, "family", "bandnet") != "bandnet":
            raise models.WeightsError(f"{name} is a {net.family} network, not a restoration network")
    return nets


def step_record(name: str, strength_db: float | None) -> dict:
    """One network of the chain as the coding history and QC report name it: its name, its
    limit, and for a weights file what it is (``role``) and, for one ``dxkit learn`` wrote,
    what it was adapted on and whether its check kept the adaptation."""
    step = {"network": name, "strength_db": strength_db}
    if name not in models.names():
        about, role = models.read_metadata(models.weights_file(name))[2], models.role(name)
        if role in models.SHIPPED:
            step["role"] = role
        if "adapted_on" in about:
            step.update(adapted_on=about["adapted_on"], adapted=bool(about.get("adapted")), base=about.get("base"))
    return step


class Runner:
    """Restores jobs with one set of networks on one device; see the module docstring."""

    def __init__(self, settings: Settings, io_threads: int | None = None) -> None:
        self.settings = settings
        self.spec = None if settings.spec == "none" else specs.resolve(settings.spec)
        self.restoration = [step_record(name, settings.strength.get(name)) for name in settings.chain]
        device = resolve_device(settings.device)
        self.stream = Stream(load_chain(settings.chain), [step["strength_db"] for step in self.restoration],
                             device, settings.chunk_frames, settings.precision or default_precision(device))
        # a GPU at 1000x real time needs several cores decoding; the CPU path needs its cores itself
        self.io_threads = io_threads or (max(2, min(8, (os.cpu_count() or 2) // 2)) if device.type != "cpu" else 2)
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        self.max_open = max(1, (soft - 64) // FILES_PER_DESCRIPTOR_BUDGET) if soft > 0 else 1 << 30

    def run(self, jobs: list[Job], on_outcome: Callable[[Outcome], None],
            on_progress: Callable[[float], None] = lambda seconds: None) -> None:
        """Restore every job, calling ``on_outcome`` with each one's ``Outcome`` as it finishes
        and ``on_progress`` with the seconds of audio restored so far, all files together."""
        self.on_progress, self.seconds_restored = on_progress, 0.0
        queue: deque[Job] = deque(jobs)
        live: list[_File] = []  # every file whose temporary files exist, until they are gone
        # decoding and delivering have threads of their own, so a long encode never starves the device
        with cf.ThreadPoolExecutor(self.io_threads, thread_name_prefix="dxkit-read") as reader, \
                cf.ThreadPoolExecutor(self.io_threads, thread_name_prefix="dxkit-deliver") as delivery:
            try:
                while queue or live:
                    self._fill(queue, live, reader, on_outcome)
                    progressed = self._feed(live, reader, on_outcome)
                    self.stream.run()
                    progressed |= self._drain(live, delivery, on_outcome)
                    progressed |= self._collect(live, on_outcome)
                    if not progressed:
                        waiting = [f.reading or f.delivering for f in live if f.reading or f.delivering]
                        if waiting:
                            cf.wait(waiting, timeout=1.0, return_when=cf.FIRST_COMPLETED)
            except BaseException as exc:  # Ctrl-C or a bug: no file may be left half-written
                reader.shutdown(wait=True, cancel_futures=True)
                delivery.shutdown(wait=True, cancel_futures=True)  # deliveries under way finish
                with contextlib.suppress(BaseException):
                    self._collect(live, on_outcome)
                for file in live:
                    self._abort(file, exc)
                raise

    # --- the steps of the loop --------------------------------------------------------------
    def _fill(self, queue: deque[Job], live: list[_File], reader: cf.Executor,
              on_outcome: Callable[[Outcome], None]) -> None:
        """Open files from the queue while a lane is free, fewer than a few files wait for
        delivery, and the process has file descriptors to spare."""
        while queue:
            computing = [f for f in live if f.delivering is None]
            waiting = len(live) - len(computing)
            used = sum(len(f.lanes) for f in computing)
            if (computing and used >= self.settings.lanes) or waiting >= 2 * self.io_threads \
                    or len(live) >= self.max_open:
                return
            job = queue.popleft()
            try:
                file = self._open(job, live)
                file.reading = reader.submit(next, file.blocks, None)
            except Exception as exc:  # noqa: BLE001 - one file's problem never stops the others
                self._fail(job, live, exc, on_outcome)

    def _feed(self, live: list[_File], reader: cf.Executor, on_outcome: Callable[[Outcome], None]) -> bool:
        """Give each file's lanes the block its reader has ready; ask for the next one."""
        progressed = False
        for file in list(live):
            if file.reading is None or not file.reading.done():
                continue
            try:
                blocks = file.reading.result()
                file.reading = None
                last = blocks is None
                if last:
                    self._check_length(file)
                for channel, lane in zip(file.restored, file.lanes):
                    self.stream.push(lane, np.zeros(0, np.float32) if last else blocks[1][channel], last=last)
                if not last:
                    file.writer.through(blocks[1] if self.spec is not None else blocks[0])
                    file.reading = reader.submit(next, file.blocks, None)
            except Exception as exc:  # noqa: BLE001 - a decoder, resampler or length problem
                self._fail(file.job, live, exc, on_outcome)
            progressed = True
        return progressed

    def _drain(self, live: list[_File], delivery: cf.Executor, on_outcome: Callable[[Outcome], None]) -> bool:
        """Write what the networks produced; close finished files, then rename or deliver them."""
        progressed = False
        for file in list(live):
            if file.delivering is not None:
                continue
            try:
                if any(lane.failed for lane in file.lanes):
                    raise AudioInputError(f"{file.job.source}: the networks produced NaN or Inf")
                pieces = [self.stream.take(lane) for lane in file.lanes]
                if pieces[0].size:
                    file.writer.restored(np.stack(pieces))
                    self.seconds_restored += pieces[0].size / RATE
                    self.on_progress(self.seconds_restored)
                    progressed = True
                if not all(lane.done for lane in file.lanes):
                    continue
                file.writer.close()
                self._close_lanes(file)
                if self.spec is not None:
                    file.delivering = delivery.submit(self._deliver, file)
                    continue
                if file.final is not None:
                    self._write_metadata(file)
                file.stack.close()  # renames the finished WAV onto the output
            except Exception as exc:  # noqa: BLE001 - a full disk, an unwritable folder, NaN
                self._fail(file.job, live, exc, on_outcome)
                continue
            live.remove(file)
            on_outcome(Outcome(file.job, file.info.duration_s))
            progressed = True
        return progressed

    def _collect(self, live: list[_File], on_outcome: Callable[[Outcome], None]) -> bool:
        """Report the deliveries that have finished."""
        done = [f for f in live if f.delivering is not None and f.delivering.done()]
        for file in done:
            try:
                result = file.delivering.result()
            except Exception as exc:  # noqa: BLE001 - name the user's file, not our scratch file
                message = first_line(exc).replace(str(file.scratch), f"{file.job.source} (restored)")
                kind = type(exc) if isinstance(exc, DxkitError) else AudioInputError
                self._fail(file.job, live, kind(message), on_outcome)
                continue
            live.remove(file)
            file.stack.close()
            on_outcome(Outcome(file.job, file.info.duration_s, delivery=result))
        return bool(done)

    # --- one file ---------------------------------------------------------------------------
    def _open(self, job: Job, live: list[_File]) -> _File:
        info = probe(job.source)
        check_output_path(job.source, job.output)
        wanted = ".wav" if self.spec is None else self.spec.output.suffix
        if job.output.suffix.lower() != wanted:
            what = "a WAV" if self.spec is None else f"{self.spec.output.container.upper()} ({self.spec.name})"
            raise OutputError(f"{job.output}: this writes {what}; name the output *{wanted}")
        metadata = read_metadata(job.source)
        layout = layout_of(info.channels, metadata.channel_mask, metadata.ixml, self.settings.layout, str(job.source))
        restored = layout.pick(self.settings.channels, job.source) if self.settings.channels else layout.dialogue
        length = max(1, round(info.frames * RATE / info.sample_rate))
        stack = contextlib.ExitStack()
        carried = None
        if self.spec is None:  # the input's rate and depth, its metadata
            rate, depth, frames = info.sample_rate, output_depth(info, self.settings.bit_depth), info.frames
            scratch = stack.enter_context(atomic_path(job.output))
            carried = self._carried(info, layout, metadata, depth)
            if carried is not None:  # written beside, then copied into the output with it
                final, scratch = scratch, stack.enter_context(scratch_file(job.output.parent, job.output.name + ".restored.wav"))
        else:  # a 48 kHz float WAV to deliver from
            picked_info, picked = selection(info, layout, self.settings.track)  # a missing track fails now
            rate, depth, frames = RATE, 32, length
            scratch = stack.enter_context(scratch_file(job.output.parent, job.output.name + ".restored.wav"))
        file = _File(job, info, stack, scratch, layout, metadata, restored)
        if carried is not None:
            file.final, file.carried = final, carried
        live.append(file)  # from here on, a failure or an interrupt removes the temporary files
        # channels passed through keep their samples where the output is as deep as the input;
        # written shallower, they are dithered like the rest
        exact = rate == info.sample_rate and depth >= SAME_DEPTH.get(info.subtype, 99)
        file.writer = RestoredWriter(scratch, info.channels, restored, rate, depth, frames, exact)
        stack.callback(file.writer.discard)  # runs before the rename (the stack unwinds in reverse)
        file.blocks = _conformed(info)
        if self.spec is not None:
            file.delivered = picked_info.pick or tuple(range(info.channels))
            file.received = Meter(RATE, len(file.delivered), overs_above_dbtp=self.spec.true_peak_max_dbtp,
                                  weights=picked.weights)
            file.received_sketch = SpectrumSketch(RATE, length) if self.settings.reports else None
            file.blocks = _metered(file.blocks, file.delivered, file.received, file.received_sketch)
        file.lanes = [self.stream.open(length) for _ in restored]
        return file

    def _carried(self, info: AudioInfo, layout: Layout, metadata: WavMetadata, depth: int) -> WavMetadata | None:
        """The metadata of a --spec none output: the input's ``bext`` (with a coding history
        line) and iXML, and for 3 channels or more the layout's channel mask; None if none."""
        history = coding_history(info.sample_rate, depth, info.channels,
                                 f"dxkit {__version__} restore: {restoration_text(self.restoration)}")
        carried = metadata.carried(info.sample_rate, info.sample_rate, history, depth)
        mask = layout.mask if info.channels >= 3 else metadata.channel_mask
        if carried.bext is None and carried.ixml is None and mask is None:
            return None
        return WavMetadata(carried.bext, carried.ixml, mask)

    def _write_metadata(self, file: _File) -> None:
        try:
            write_metadata(file.scratch, file.final, file.carried)
        except OSError as exc:
            raise OutputError(f"{file.job.output}: write failed ({exc.strerror or exc})") from None

    def _check_length(self, file: _File) -> None:
        received = file.lanes[0].places[0].received
        expected = file.lanes[0].length
        if received < expected - LENGTH_SLACK:
            raise AudioInputError(f"{file.job.source}: decoded {received} samples at 48 kHz where the header "
                                  f"promises {expected}; the file is damaged or truncated")

    def _deliver(self, file: _File) -> DeliveryResult:
        """Deliver the restored file; the result (and its report) is about the user's file:
        ``before`` is the take as received, ``restored`` what delivery started from."""
        # A spec that needs the dialogue (dialogue-gated loudness, room tone) finds it in the
        # restored file, what delivery measures.
        # The scratch file has no iXML: a recorder's track is named by its number.
        layout = "tracks" if file.layout.tracks else file.layout.name
        track = ",".join(str(c + 1) for c in file.delivered) if file.layout.tracks else None
        dialogue = detect(file.scratch, layout=layout, track=track).active if self.spec.needs_dialogue else None
        history = coding_history(RATE, 32, file.info.channels,
                                 f"dxkit {__version__} restore: {restoration_text(self.restoration)}")
        rate = file.info.sample_rate  # the time reference is rescaled once, from the take's rate
        metadata = replace(file.metadata.carried(rate, rate, history), rate=rate)
        highpass = self.settings.highpass_hz
        if highpass is None:
            highpass = DIALOGUE_HIGHPASS_HZ if self.spec.highpass_hz is None else self.spec.highpass_hz
        # the dialogue high-pass is for the channels the networks restored, not a mix's others
        result = deliver(file.scratch, file.job.output, self.spec, highpass_hz=highpass, dialogue=dialogue,
                         layout=layout, track=track, metadata=metadata,
                         highpass_channels=None if file.layout.tracks else file.restored,
                         fit_ends=self.settings.fit_ends)
        result = replace(result, source=file.job.source, before=file.received.result(), restored=result.before,
                         spectrogram_before=file.received_sketch.result() if file.received_sketch else None,
                         restoration=self.restoration,
                         warnings=[w.replace(str(file.scratch), f"{file.job.source} (restored)") for w in result.warnings])
        if self.settings.reports:
            write_report(result, self.settings.report_dir or file.job.output.parent)
        return result

    def _close_lanes(self, file: _File) -> None:
        for lane in file.lanes:
            if lane in self.stream.lanes:
                self.stream.close(lane)

    def _fail(self, job: Job, live: list[_File], exc: BaseException,
              on_outcome: Callable[[Outcome], None]) -> None:
        """Drop ``job``'s file if it got that far, remove its temporary files, report ``exc``."""
        if not isinstance(exc, DxkitError):  # a decoder's or library's own error: say which file
            exc = AudioInputError(f"{job.source}: {first_line(exc)}")
        seconds = 0.0
        for file in [f for f in live if f.job is job]:
            self._close_lanes(file)
            self._abort(file, exc)
            live.remove(file)
            seconds = file.info.duration_s
        on_outcome(Outcome(job, seconds, failure=exc))

    @staticmethod
    def _abort(file: _File, exc: BaseException) -> None:
        """Close ``file``'s output without renaming it: its temporary files are removed."""
        with contextlib.suppress(Exception):
            file.stack.__exit__(type(exc), exc, exc.__traceback__)


def _metered(blocks: Iterator[tuple[np.ndarray, np.ndarray] | None], channels: tuple[int, ...], meter: Meter,
             sketch: SpectrumSketch | None) -> Iterator[tuple[np.ndarray, np.ndarray] | None]:
    """``blocks`` as they are, ``channels`` of the 48 kHz one also measured (on the reader's thread)."""
    for block in blocks:
        if block is not None:
            heard = block[1] if len(channels) == block[1].shape[0] else block[1][list(channels)]
            meter.add(heard)
            if sketch is not None:
                sketch.add(heard)
        yield block


def _conformed(info: AudioInfo) -> Iterator[tuple[np.ndarray, np.ndarray] | None]:
    """The file's blocks as read and at 48 kHz (``[C, T]`` float32, the same array at 48 kHz;
    the two may differ in length), then None."""
    resampler = None if info.sample_rate == RATE else soxr.ResampleStream(
        info.sample_rate, RATE, info.channels, dtype="float32", quality="VHQ")
    for block in read_blocks(info):
        if resampler is None:
            yield block, block
        else:
            yield block, np.ascontiguousarray(resampler.resample_chunk(block.T).T)
    if resampler is not None:
        tail = resampler.resample_chunk(np.zeros((0, info.channels), np.float32), last=True)
        if tail.size:
            yield np.zeros((info.channels, 0), np.float32), np.ascontiguousarray(tail.T)
    while True:
        yield None
