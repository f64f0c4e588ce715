"""``dxkit batch``: restore every audio file under a folder into a mirror of it, resumably.

- The walk follows folder links but never loops (a folder already visited is reported and
  skipped), skips hidden files (macOS ``._`` resource forks among them) and the output folder,
  and takes files by audio extension; every other file is listed as ignored.
- Each output sits at the input's relative path under ``OUT_DIR``, with the extension of what is
  written; nothing is written outside ``OUT_DIR``.
- Resumable: ``OUT_DIR/.dxkit-batch/manifest-*.jsonl`` records, for each finished file, the
  SHA-256 of the input and of the output and a fingerprint of the settings (the networks'
  weight files, strengths, spec, the precision asked for, dxkit version). A rerun skips a file
  only when all of those still match. What is left to do is decided before torch and the
  networks are loaded, so a rerun with nothing to do answers at once.
- ``jobs`` worker processes share the files, one device each (``cuda:0``, ``cuda:1``, ... when
  the device is a GPU). Across machines, launch one ``dxkit batch`` per process with ``torchrun``
  (or any launcher that sets ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK``): each takes every
  ``WORLD_SIZE``-th file from ``RANK`` on, on ``cuda:LOCAL_RANK``, and writes its own manifest part.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
import time
from collections import Counter
from queue import Empty
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

from dxkit import models
from dxkit.deliver import __version__, specs
from dxkit.deliver.audio import first_line
from dxkit.deliver.errors import OutputError

from .settings import Job, Settings

AUDIO_SUFFIXES = frozenset({".wav", ".wave", ".bwf", ".rf64", ".w64", ".flac", ".aif", ".aiff", ".aifc",
                            ".caf", ".ogg", ".oga", ".opus", ".mp3"})
MANIFEST_DIR = ".dxkit-batch"


@dataclass(frozen=True)
class Done:
    """One file's result as the batch reports it (small enough to pass between processes)."""

    source: str
    output: str
    seconds_audio: float
    error: str | None = None
    passed: bool | None = None  # None without a spec
    failed_requirements: tuple[str, ...] = ()
    input_sha256: str = ""
    output_sha256: str = ""
    input_stat: tuple[int, int] = (0, 0)  # size, mtime in ns
    output_stat: tuple[int, int] = (0, 0)


@dataclass
class BatchSummary:
    """What a batch did: restored, skipped as already done, failed (with reasons), ignored."""

    restored: list[Done] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: list[Done] = field(default_factory=list)
    ignored: list[tuple[str, str]] = field(default_factory=list)
    seconds_audio: float = 0.0
    seconds_taken: float = 0.0

    @property
    def not_passing(self) -> list[Done]:
        """Files written that miss a requirement of the spec."""
        return [d for d in self.restored if d.passed is False]


@dataclass(frozen=True)
class Shard:
    """This process's share of a batch launched across machines: every ``world``-th file from ``rank``."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @classmethod
    def from_environment(cls) -> "Shard":
        """The shard torchrun (or another launcher) set in RANK / WORLD_SIZE / LOCAL_RANK."""
        env = os.environ
        try:
            shard = cls(int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0)))
        except ValueError:
            raise ValueError("RANK, WORLD_SIZE and LOCAL_RANK must be whole numbers") from None
        if not 0 <= shard.rank < shard.world or shard.local_rank < 0:
            raise ValueError(f"RANK={shard.rank} WORLD_SIZE={shard.world}: need 0 <= RANK < WORLD_SIZE")
        return shard


# --- finding the files ---------------------------------------------------------------------------
def find_audio(in_dir: Path, out_dir: Path) -> tuple[list[Path], list[tuple[str, str]]]:
    """Audio files under ``in_dir`` (relative paths, sorted) and the files passed over, with why."""
    found: list[Path] = []
    ignored: list[tuple[str, str]] = []
    skip = {os.path.realpath(out_dir)}
    visited: set[str] = set()

    def walk(folder: Path, rel: Path) -> None:
        real = os.path.realpath(folder)
        if real in visited:
            ignored.append((str(rel), "folder link loops back to a folder already walked"))
            return
        visited.add(real)
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            ignored.append((str(rel), f"cannot list folder ({exc.strerror or exc})"))
            return
        for entry in entries:
            path, sub = folder / entry.name, rel / entry.name
            if entry.name.startswith("."):
                continue
            try:
                is_dir = entry.is_dir()
                is_file = entry.is_file()
            except OSError as exc:
                ignored.append((str(sub), f"cannot read ({exc.strerror or exc})"))
                continue
            if is_dir:
                if os.path.realpath(path) not in skip:
                    walk(path, sub)
            elif not is_file:
                ignored.append((str(sub), "broken link" if entry.is_symlink() else "not a regular file"))
            elif Path(entry.name).suffix.lower() in AUDIO_SUFFIXES:
                found.append(sub)
            else:
                ignored.append((str(sub), "not an audio file name"))

    walk(in_dir, Path("."))
    return found, ignored


def plan_jobs(in_dir: Path, out_dir: Path, files: list[Path], suffix: str) -> tuple[list[Job], list[Job]]:
    """One job per file: the same relative path under ``out_dir``, with ``suffix``. Two inputs
    that would meet on one name (``a.wav`` and ``a.flac``) keep their own extension in front of
    it (``a.wav.wav``, ``a.flac.wav``). Returns the jobs, and the jobs whose output name would
    still be taken by another file (those are not run)."""
    targets = [rel.with_suffix(suffix) for rel in files]
    counts = Counter(targets)
    names = [rel.parent / (rel.name + suffix) if counts[t] > 1 else t for rel, t in zip(files, targets)]
    taken = Counter(names)
    jobs, clashes = [], []
    for rel, name in zip(files, names):
        (clashes if taken[name] > 1 else jobs).append(Job(in_dir / rel, out_dir / name))
    return jobs, clashes


# --- the manifest ---------------------------------------------------------------------------------
def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def settings_fingerprint(settings: Settings) -> str:
    """A hash of everything that shapes the output: the networks' weight files, strengths, spec,
    the precision asked for (``auto`` is one setting, whatever it picks on this machine), QC
    reports or not, the delivery options, the detector's weights where the spec needs the
    dialogue, dxkit's version. Loads no torch: raises ``models.WeightsError`` for a
    network that is not there."""
    digest = hashlib.sha256()
    # a weights file is what its weights are, wherever it lies (a learned scene's file sits in
    # the output folder, which may be named differently on a rerun)
    ident = {}
    for name in settings.chain:
        path = models.weights_file(name)
        weights = name if path is None else file_sha256(path)  # None: built in code
        ident[name] = name if name in models.names() else weights
        digest.update(weights.encode())
    spec = None if settings.spec == "none" else specs.resolve(settings.spec)
    spec_text = "none" if spec is None else json.dumps(asdict(spec), sort_keys=True, default=str)
    if spec is not None and spec.needs_dialogue:  # the detector decides what such a delivery does
        for name in models.DETECTORS:
            digest.update(file_sha256(models.weights_file(name)).encode())
    digest.update(json.dumps({"chain": [ident[n] for n in settings.chain],
                              "strength": {ident.get(n, n): v for n, v in settings.strength.items()},
                              "spec": spec_text,
                              "precision": settings.precision or "auto", "reports": settings.reports,
                              "layout": settings.layout, "channels": settings.channels, "track": settings.track,
                              "highpass_hz": settings.highpass_hz, "bit_depth": settings.bit_depth,
                              "fit_ends": settings.fit_ends, "version": __version__}, sort_keys=True).encode())
    return digest.hexdigest()


class Manifest:
    """The record of finished files under ``out_dir``; this process appends to its own part.

    Entries are keyed by the output's path relative to ``out_dir``, so the folder may be named
    differently on a rerun, and every entry is kept: a file counts as done if any entry for it
    still matches."""

    def __init__(self, out_dir: Path, part: str) -> None:
        self.out_dir = out_dir
        self.folder = out_dir / MANIFEST_DIR
        self.path = self.folder / f"manifest-{part}.jsonl"
        self.entries: dict[str, list[dict]] = {}
        for existing in sorted(self.folder.glob("manifest-*.jsonl")) if self.folder.is_dir() else []:
            for line in existing.read_text(encoding="utf-8", errors="replace").splitlines():
                try:
                    entry = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash
                if isinstance(entry, dict) and isinstance(entry.get("output"), str):
                    self.entries.setdefault(entry["output"], []).append(entry)

    def key(self, output: Path | str) -> str:
        return Path(output).relative_to(self.out_dir).as_posix()

    def finished(self, job: Job, fingerprint: str) -> bool:
        """Was ``job`` done with these settings from this very input, and is its output intact?

        Sizes and modification times that match the entry stand for the content; when either
        differs, the SHA-256 of input and output decide."""
        candidates = [e for e in self.entries.get(self.key(job.output), []) if e.get("settings") == fingerprint]
        if not candidates or not job.output.is_file():
            return False
        try:
            stats = _stat(job.source), _stat(job.output)
            hashes: tuple[str, str] | None = None
            for entry in reversed(candidates):
                if stats == (tuple(entry.get("input_stat", ())), tuple(entry.get("output_stat", ()))):
                    return True
                hashes = hashes or (file_sha256(job.source), file_sha256(job.output))
                if hashes == (entry.get("input_sha256"), entry.get("output_sha256")):
                    return True
        except OSError:
            return False
        return False

    def record(self, done: Done, fingerprint: str) -> None:
        entry = {"input": done.source, "output": self.key(done.output), "input_sha256": done.input_sha256,
                 "output_sha256": done.output_sha256, "input_stat": list(done.input_stat),
                 "output_stat": list(done.output_stat), "settings": fingerprint, "passed": done.passed,
                 "seconds_audio": done.seconds_audio, "time": time.time()}
        try:
            self.folder.mkdir(exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(json.dumps(entry) + "\n")
                f.flush()
                os.fsync(f.fileno())
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write the batch manifest ({exc.strerror or exc})") from None
        self.entries.setdefault(entry["output"], []).append(entry)


def _stat(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


# --- running ------------------------------------------------------------------------------------
def _done_of(outcome) -> Done:
    """The record of a runner's ``Outcome``."""
    job = outcome.job
    if outcome.failure is not None:
        return Done(str(job.source), str(job.output), outcome.seconds_audio, outcome.error)
    delivery = outcome.delivery
    try:
        hashes = file_sha256(job.source), file_sha256(job.output)
        stats = _stat(job.source), _stat(job.output)
    except OSError as exc:
        return Done(str(job.source), str(job.output), outcome.seconds_audio,
                    f"{job.output}: written but cannot be read back ({exc.strerror or exc})")
    return Done(str(job.source), str(job.output), outcome.seconds_audio, None,
                None if delivery is None else delivery.passed,
                tuple(r.name for r in delivery.requirements if not r.passed) if delivery else (), *hashes, *stats)


def _work(jobs: list[Job], settings: Settings, threads: int | None, report: Callable[[Done], None]) -> None:
    import torch

    from .runner import Runner

    if threads:
        torch.set_num_threads(threads)
    Runner(settings).run(jobs, lambda outcome: report(_done_of(outcome)))


def _stop(signum, frame) -> None:
    # the first Ctrl-C (from the terminal) or SIGTERM (from the parent) stops the worker; later
    # ones are ignored, so they cannot cut short the removal of its temporary files
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _worker(jobs: list[Job], settings: Settings, threads: int | None, queue) -> None:
    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    reported: set[str] = set()

    def report(done: Done) -> None:
        reported.add(done.source)
        queue.put(done)

    try:
        _work(jobs, settings, threads, report)
    except KeyboardInterrupt:
        pass  # the runner has removed its temporary files; the parent reports the interrupt
    except Exception as exc:  # noqa: BLE001 - a worker must account for every file it was given
        reason = first_line(exc)
        for job in jobs:
            if str(job.source) not in reported:
                queue.put(Done(str(job.source), str(job.output), 0.0, f"{job.source}: worker stopped: {reason}"))
    finally:
        queue.put(None)


def _device_for(settings: Settings, worker: int) -> str:
    """Worker ``worker``'s device: its own GPU when the device names CUDA without an index."""
    import torch

    name = settings.device.strip().lower()
    if name in ("auto", "cuda") and torch.cuda.is_available():
        return f"cuda:{worker % torch.cuda.device_count()}"
    return settings.device


def run_batch(in_dir: str | os.PathLike, out_dir: str | os.PathLike, settings: Settings, jobs: int = 1,
              shard: Shard = Shard(), progress: Callable[[Done | None, int, int], None] = lambda d, i, n: None,
              per_folder: Callable[[Path, list[Job]], Settings] | None = None) -> BatchSummary:
    """Restore every audio file under ``in_dir`` into ``out_dir``; see the module docstring.

    ``per_folder(out_folder, jobs)``, if given, chooses the settings of each input folder's jobs
    (``dxkit batch --learn-noise per-folder``: a denoiser learned from that folder's takes); a
    folder whose files are all done is still asked, so it must answer cheaply on a rerun.

    ``progress(done, finished, total)`` is called once before the first file (``done`` None) and
    after each file. Raises OutputError when ``out_dir`` cannot be used at all; a file that fails
    is in ``summary.failed`` and the batch goes on."""
    started = time.perf_counter()
    in_dir, out_dir = Path(in_dir), Path(out_dir)
    if not in_dir.is_dir():
        raise ValueError(f"{in_dir}: no such folder")
    if os.path.realpath(in_dir) == os.path.realpath(out_dir):
        raise ValueError(f"{out_dir}: the output folder is the input folder; give another one")
    if jobs < 1 or settings.lanes < 1:
        raise ValueError("--jobs and --lanes must be at least 1")
    if shard.world > 1 and jobs > 1:
        raise ValueError("under torchrun (WORLD_SIZE > 1) each process is one worker: leave --jobs at 1")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{out_dir}: cannot create the output folder ({exc.strerror or exc})") from None
    suffix = ".wav" if settings.spec == "none" else specs.resolve(settings.spec).output.suffix
    files, ignored = find_audio(in_dir, out_dir)
    planned, clashes = plan_jobs(in_dir, out_dir, files, suffix)
    planned = planned[shard.rank::shard.world]
    summary = BatchSummary(ignored=ignored)
    manifest = Manifest(out_dir, f"{shard.rank}-of-{shard.world}")
    groups: dict[Path, list[Job]] = {}
    for job in planned:  # one group (one set of networks) per input folder with per_folder, else one
        groups.setdefault(job.source.parent if per_folder else in_dir, []).append(job)
    work: list[tuple[Settings, str, list[Job]]] = []
    for folder, group in groups.items():
        chosen = per_folder(out_dir / folder.relative_to(in_dir), group) if per_folder else settings
        fingerprint = settings_fingerprint(chosen)
        done = [manifest.finished(job, fingerprint) for job in group]
        todo = [job for job, finished in zip(group, done) if not finished]
        summary.skipped += [str(job.source) for job, finished in zip(group, done) if finished]
        if todo:
            work.append((chosen, fingerprint, todo))
    if work:  # only now does the device matter (this loads torch)
        settings.check_device()
    for job in (job for _, _, todo in work for job in todo):
        try:
            job.output.parent.mkdir(parents=True, exist_ok=True)
        except OSError:
            pass  # the runner reports the missing folder for this file

    total = sum(len(todo) for _, _, todo in work)
    progress(None, 0, total)
    for chosen, fingerprint, todo in work:
        if shard.world > 1:
            chosen = replace(chosen, device=_device_for(chosen, shard.local_rank))
        before = {str(job.source): _stat_or_none(job.source) for job in todo}

        def take(done: Done, fingerprint: str = fingerprint, before: dict = before) -> None:
            if done.error is None:
                if before.get(done.source) == done.input_stat:  # else it changed while it was read:
                    manifest.record(done, fingerprint)           # not recorded, so a rerun does it again
                summary.restored.append(done)
                summary.seconds_audio += done.seconds_audio
            else:
                summary.failed.append(done)
            progress(done, len(summary.restored) + len(summary.failed), total)

        if jobs > 1 and len(todo) > 1:
            _run_workers(todo, chosen, jobs, take)
        else:
            _work(todo, chosen, None, take)
    for job in clashes[shard.rank::shard.world]:
        summary.failed.append(Done(str(job.source), str(job.output), 0.0,
                                   f"{job.source}: its output name {job.output.name} is taken by another input"))
    summary.seconds_taken = time.perf_counter() - started
    return summary


def _run_workers(todo: list[Job], settings: Settings, jobs: int, take: Callable[[Done], None]) -> None:
    """Share ``todo`` among ``jobs`` processes (largest files first, dealt round the workers)."""
    order = sorted(todo, key=lambda j: -(_stat_or_none(j.source) or (0, 0))[0])
    shares = [order[i::jobs] for i in range(jobs)]
    threads = max(1, (os.cpu_count() or 1) // jobs)
    context = multiprocessing.get_context("spawn")  # torch and threads do not survive fork
    queue = context.Queue()
    workers = [context.Process(target=_worker, args=(share, replace(settings, device=_device_for(settings, i)),
                                                       threads, queue), daemon=True)
               for i, share in enumerate(shares) if share]
    for w in workers:
        w.start()
    reported: set[str] = set()
    running = len(workers)
    try:
        while running:
            try:
                done = queue.get(timeout=2.0)
            except Empty:
                if any(w.is_alive() for w in workers):
                    continue
                try:  # every worker has gone: take what they left in the queue, then stop
                    done = queue.get(timeout=0.5)
                except Empty:
                    break  # a worker died without a word (killed, out of memory)
            if done is None:
                running -= 1
            else:
                reported.add(done.source)
                take(done)
        for job in todo:
            if str(job.source) not in reported:
                take(Done(str(job.source), str(job.output), 0.0, f"{job.source}: its worker process died"))
    except BaseException:
        for w in workers:  # SIGTERM: each worker removes its temporary files, then exits
            if w.is_alive():
                w.terminate()
        while running:  # record what the workers finish while they stop (deliveries under way)
            try:
                done = queue.get(timeout=0.5)
            except Empty:
                if not any(w.is_alive() for w in workers):
                    break
                continue
            if done is None:
                running -= 1
            else:
                take(done)
        raise
    finally:
        for w in workers:
            w.join()


def _stat_or_none(path: Path) -> tuple[int, int] | None:
    try:
        return _stat(path)
    except OSError:
        return None
