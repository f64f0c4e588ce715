"""Restoring files: decode and conform on CPU threads, run the chain on the device, write or deliver.

One engine behind ``dxkit restore`` (a few files) and ``dxkit batch`` (thousands). Up to
``lanes`` channels, from as many files as fit, stream through the networks side by side
(``infer/stream.py``); when a file ends, the next one takes its lanes. Reading the next block of
every file and delivering finished files to a spec run on worker threads while the device
computes. A file's memory is a few blocks, whatever its length.

Every output is written to a temporary file beside it and renamed only when complete; a file
that fails (unreadable, NaN samples, a full disk) or an interrupt removes its temporary files and
leaves nothing half-written. A failing file is reported in its ``Outcome``; the others go on.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import soundfile as sf
import soxr
import torch

from dxkit import models
from dxkit.deliver import specs
from dxkit.deliver.audio import AudioInfo, atomic_path, check_output_path, probe, read_blocks, scratch_file
from dxkit.deliver.delivery import DeliveryResult, deliver
from dxkit.deliver.errors import AudioInputError, DxkitError, OutputError
from dxkit.deliver.report import write_report

from .devices import default_precision, resolve_device
from .stream import CHUNK_FRAMES, Lane, Stream

RATE = 48000
WAV_LIMIT_BYTES = 4 * 2 ** 30 - 2 ** 20  # a RIFF WAV cannot hold more; larger outputs are RF64


@dataclass(frozen=True)
class Job:
    """Restore ``source`` into ``output``."""

    source: Path
    output: Path


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
        return None if self.failure is None else _one_line(self.failure)

    @property
    def ok(self) -> bool:
        """Written, and (with a spec) every requirement of the spec passed."""
        return self.error is None and (self.delivery is None or self.delivery.passed)


@dataclass
class Settings:
    """How to restore: the chain and its limits, the delivery spec, where the networks run."""

    chain: list[str]
    strength: dict[str, float] = field(default_factory=dict)
    spec: str = "none"
    device: str = "auto"
    precision: str | None = None  # None: bf16 on a CUDA GPU that has it, else fp32
    lanes: int = 16  # channels computed side by side in one device batch
    reports: bool = False  # with a spec: write each file's QC report (.qc.json, .qc.html) beside it
    chunk_frames: int = CHUNK_FRAMES


@dataclass
class _File:
    job: Job
    info: AudioInfo
    lanes: list[Lane]
    blocks: Iterator[np.ndarray | None]
    stack: contextlib.ExitStack
    sink: sf.SoundFile
    scratch: Path
    reading: cf.Future | None = None
    input_done: bool = False


class Runner:
    """Restores jobs with one set of networks on one device; see the module docstring."""

    def __init__(self, settings: Settings, io_threads: int = 2) -> None:
        self.settings = settings
        self.spec = None if settings.spec == "none" else specs.resolve(settings.spec)
        device = resolve_device(settings.device)
        nets = [models.load(name) for name in settings.chain]
        self.stream = Stream(nets, [settings.strength.get(name) for name in settings.chain], device,
                             settings.chunk_frames, settings.precision or default_precision(device))
        self.device = device
        self.io_threads = io_threads

    def run(self, jobs: list[Job], on_outcome: Callable[[Outcome], None] = lambda outcome: None) -> list[Outcome]:
        """Restore every job; returns their outcomes in the order they finished (and calls
        ``on_outcome`` with each as it does)."""
        outcomes: list[Outcome] = []

        def finish(outcome: Outcome) -> None:
            outcomes.append(outcome)
            on_outcome(outcome)

        queue, active = deque(jobs), []
        delivering: dict[cf.Future, tuple[_File, float]] = {}
        # decoding and delivering have threads of their own, so a long encode never starves the device
        with cf.ThreadPoolExecutor(self.io_threads, thread_name_prefix="dxkit-read") as pool, \
                cf.ThreadPoolExecutor(self.io_threads, thread_name_prefix="dxkit-deliver") as delivery:
            try:
                while queue or active or delivering:
                    self._fill(queue, active, pool, finish)
                    progressed = self._feed(active, pool, finish)
                    self.stream.run()
                    progressed |= self._drain(active, delivery, delivering, finish)
                    progressed |= self._collect(delivering, finish)
                    if not progressed:
                        waiting = [f.reading for f in active if f.reading] + list(delivering)
                        if waiting:
                            cf.wait(waiting, timeout=1.0, return_when=cf.FIRST_COMPLETED)
            except BaseException as exc:  # Ctrl-C or a bug: no file may be left half-written
                pool.shutdown(wait=True, cancel_futures=True)
                delivery.shutdown(wait=True, cancel_futures=True)
                for file in active + [f for f, _ in delivering.values()]:
                    self._abort(file, exc)
                raise
        return outcomes

    # --- the steps of the loop --------------------------------------------------------------
    def _fill(self, queue: deque, active: list[_File], pool: cf.Executor,
              finish: Callable[[Outcome], None]) -> None:
        """Open files from the queue while their channels fit in the free lanes."""
        while queue:
            used = sum(len(f.lanes) for f in active)
            if active and used >= self.settings.lanes:
                return
            job = queue.popleft()
            try:
                file = self._open(job)
            except DxkitError as exc:
                finish(Outcome(job, failure=exc))
                continue
            file.reading = pool.submit(next, file.blocks, None)
            active.append(file)

    def _feed(self, active: list[_File], pool: cf.Executor, finish: Callable[[Outcome], None]) -> bool:
        """Give each file's lanes the block its reader has ready; ask for the next one."""
        progressed = False
        for file in list(active):
            if file.reading is None or not file.reading.done():
                continue
            try:
                block = file.reading.result()
            except DxkitError as exc:
                self._fail(file, active, exc, finish)
                continue
            except (OSError, ValueError, RuntimeError) as exc:  # a decoder or resampler error
                self._fail(file, active, AudioInputError(f"{file.job.source}: read failed ({_one_line(exc)})"), finish)
                continue
            progressed = True
            last = block is None
            for channel, lane in enumerate(file.lanes):
                self.stream.push(lane, block[channel] if block is not None else np.zeros(0, np.float32), last=last)
            file.reading = None if last else pool.submit(next, file.blocks, None)
            file.input_done = last
        return progressed

    def _drain(self, active: list[_File], pool: cf.Executor, delivering: dict,
               finish: Callable[[Outcome], None]) -> bool:
        """Write what the networks produced; close finished files (and deliver them)."""
        progressed = False
        for file in list(active):
            pieces = [self.stream.take(lane) for lane in file.lanes]
            try:
                if pieces[0].size:
                    file.sink.write(np.stack(pieces, axis=1))
                    progressed = True
                if not all(lane.done for lane in file.lanes):
                    continue
                file.sink.close()
            except (OSError, RuntimeError, sf.LibsndfileError) as exc:
                self._fail(file, active, OutputError(f"{file.job.output}: write failed ({_one_line(exc)})"), finish)
                continue
            active.remove(file)
            for lane in file.lanes:
                self.stream.close(lane)
            seconds = file.info.duration_s
            if self.spec is None:
                try:
                    file.stack.close()  # renames the finished WAV onto the output
                except DxkitError as exc:
                    finish(Outcome(file.job, seconds, failure=exc))
                else:
                    finish(Outcome(file.job, seconds))
            else:
                delivering[pool.submit(self._deliver, file)] = (file, seconds)
            progressed = True
        return progressed

    def _collect(self, delivering: dict, finish: Callable[[Outcome], None]) -> bool:
        done = [f for f in delivering if f.done()]
        for future in done:
            file, seconds = delivering.pop(future)
            try:
                result = future.result()
            except DxkitError as exc:  # name the user's file, not our scratch file
                file.stack.close()
                message = str(exc).replace(str(file.scratch), f"{file.job.source} (restored)")
                finish(Outcome(file.job, seconds, failure=type(exc)(message)))
            else:
                file.stack.close()
                finish(Outcome(file.job, seconds, delivery=result))
        return bool(done)

    # --- one file ---------------------------------------------------------------------------
    def _deliver(self, file: _File) -> DeliveryResult:
        result = deliver(file.scratch, file.job.output, self.spec)
        if self.settings.reports:
            write_report(result, file.job.output.parent)
        return result

    def _open(self, job: Job) -> _File:
        info = probe(job.source)
        check_output_path(job.source, job.output)
        wanted = ".wav" if self.spec is None else self.spec.output.suffix
        if job.output.suffix.lower() != wanted:
            what = "a 48 kHz float WAV" if self.spec is None else f"{self.spec.output.container.upper()} ({self.spec.name})"
            raise OutputError(f"{job.output}: this writes {what}; name the output *{wanted}")
        if self.spec is not None and info.channels > 8:
            raise AudioInputError(f"{job.source}: {info.channels} channels; delivery handles up to 8")
        length = round(info.frames * RATE / info.sample_rate)
        stack = contextlib.ExitStack()
        try:
            if self.spec is None:
                scratch = stack.enter_context(atomic_path(job.output))
            else:
                scratch = stack.enter_context(scratch_file(job.output.parent, job.output.name + ".restored.wav"))
            big = length * info.channels * 4 > WAV_LIMIT_BYTES
            sink = sf.SoundFile(scratch, "w", RATE, info.channels, subtype="FLOAT", format="RF64" if big else "WAV")
            stack.callback(sink.close)  # runs before the rename (the stack unwinds in reverse)
        except BaseException as exc:
            stack.__exit__(type(exc), exc, exc.__traceback__)
            raise
        lanes = [self.stream.open(length) for _ in range(info.channels)]
        return _File(job, info, lanes, _conformed(info), stack, sink, scratch)

    def _fail(self, file: _File, active: list[_File], exc: DxkitError,
              finish: Callable[[Outcome], None]) -> None:
        active.remove(file)
        for lane in file.lanes:
            self.stream.close(lane)
        self._abort(file, exc)
        finish(Outcome(file.job, file.info.duration_s, failure=exc))

    @staticmethod
    def _abort(file: _File, exc: BaseException) -> None:
        """Close ``file``'s output without renaming it: its temporary files are removed."""
        with contextlib.suppress(Exception):
            file.stack.__exit__(type(exc), exc, exc.__traceback__)


def _conformed(info: AudioInfo) -> Iterator[np.ndarray | None]:
    """The file's blocks at 48 kHz (``[C, T]`` float32), then None."""
    resampler = None if info.sample_rate == RATE else soxr.ResampleStream(
        info.sample_rate, RATE, info.channels, dtype="float32", quality="VHQ")
    for block in read_blocks(info):
        if resampler is None:
            yield block
        else:
            yield np.ascontiguousarray(resampler.resample_chunk(block.T).T)
    if resampler is not None:
        tail = resampler.resample_chunk(np.zeros((0, info.channels), np.float32), last=True)
        if tail.size:
            yield np.ascontiguousarray(tail.T)
    while True:
        yield None


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
