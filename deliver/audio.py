"""Everyone's audio I/O: probe and validate a file, read it in blocks, write atomically.

Shape convention: one signal is ``[C, T]`` float32; soundfile's ``(T, C)`` is transposed here
and nowhere else. The sample rate always travels with the samples.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import numpy as np
import soundfile as sf

from .errors import AudioInputError, OutputError

MIN_RATE = 8000
MAX_RATE = 192000
BLOCK_SECONDS = 4.0


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, read from its header."""

    path: Path
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str
    pick: tuple[int, ...] | None = None  # read only these channels of the file (``channels`` of them)

    def picking(self, channels: tuple[int, ...]) -> AudioInfo:
        """This file read as only ``channels`` (0-based, in that order)."""
        return replace(self, channels=len(channels), pick=tuple(channels))

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def probe(path: str | os.PathLike) -> AudioInfo:
    """Open ``path`` and check it is audio dxkit can use; raise AudioInputError if not."""
    p = Path(path)
    try:
        if not p.exists():
            raise AudioInputError(f"{p}: no such file")
        if p.is_dir():
            raise AudioInputError(f"{p}: is a folder, not an audio file")
        if p.stat().st_size == 0:
            raise AudioInputError(f"{p}: empty file")
    except OSError as exc:
        raise AudioInputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    try:
        info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioInputError(f"{p}: not a readable audio file ({first_line(exc)})") from None
    except OSError as exc:
        raise AudioInputError(f"{p}: cannot read ({exc.strerror or exc})") from None
    _check_not_truncated(p, info)
    if info.frames <= 0:
        raise AudioInputError(f"{p}: holds no audio samples")
    if not MIN_RATE <= info.samplerate <= MAX_RATE:
        raise AudioInputError(
            f"{p}: sample rate {info.samplerate} Hz is outside {MIN_RATE}-{MAX_RATE} Hz"
        )
    return AudioInfo(p, int(info.samplerate), int(info.channels), int(info.frames),
                     info.format, info.subtype)


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name if it has none)."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _check_not_truncated(path: Path, info: sf._SoundFileInfo) -> None:
    # libsndfile reads a truncated WAV/AIFF silently and only notes "(should be N)" on the
    # data chunk line of its log; a file that lost its tail must not pass as a shorter one.
    for line in info.extra_info.splitlines():
        head = line.strip().lower()
        if (head.startswith("data") or head.startswith("ssnd")) and "should be" in head:
            raise AudioInputError(f"{path}: truncated file (the data chunk is shorter than its header says)")


def read_blocks(info: AudioInfo, block_frames: int | None = None) -> Iterator[np.ndarray]:
    """Yield the file as float32 blocks ``[C, T]``; raise AudioInputError on NaN or Inf."""
    block = block_frames or int(BLOCK_SECONDS * info.sample_rate)
    position = 0
    try:
        with sf.SoundFile(str(info.path)) as f:
            for chunk in f.blocks(blocksize=block, dtype="float32", always_2d=True):
                if not np.isfinite(chunk).all():
                    bad = position + int(np.argmin(np.isfinite(chunk).all(axis=1)))
                    raise AudioInputError(
                        f"{info.path}: NaN or Inf sample at {bad / info.sample_rate:.3f} s"
                    )
                position += chunk.shape[0]
                yield np.ascontiguousarray(chunk.T if info.pick is None else chunk.T[list(info.pick)])
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioInputError(f"{info.path}: read failed at {position / info.sample_rate:.3f} s "
                              f"({first_line(exc)})") from None


def check_output_path(src: Path | None, dst: Path) -> None:
    """Refuse an output that would overwrite the input or cannot be written; raise OutputError."""
    dst = Path(dst)
    try:
        _check_output_path(src, dst)
    except OSError as exc:
        raise OutputError(f"{dst}: cannot use this output path ({exc.strerror or exc})") from None


def _check_output_path(src: Path | None, dst: Path) -> None:
    if src is not None and dst.exists() and os.path.samefile(src, dst):
        raise OutputError(f"{dst}: output path is the input file; dxkit never overwrites its input")
    if src is not None and os.path.realpath(src) == os.path.realpath(dst):
        raise OutputError(f"{dst}: output path is the input file; dxkit never overwrites its input")
    folder = dst.parent if str(dst.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"{dst}: output folder {folder} does not exist")
    if dst.is_dir():
        raise OutputError(f"{dst}: is a folder; give a file name")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{dst}: output folder {folder} is not writable")


@contextlib.contextmanager
def scratch_file(folder: Path, name: str) -> Iterator[Path]:
    """Yield a new empty temporary file in ``folder``; it is removed when the block ends."""
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".dxkit-tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"{folder / name}: cannot create a file in {folder} ({exc.strerror})") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


@contextlib.contextmanager
def atomic_path(dst: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``dst``; rename it onto ``dst`` only if the body succeeds.

    Any failure (an exception, Ctrl-C, a full disk) removes the temporary file, so ``dst`` is
    either the old file or the complete new one, never half-written.
    """
    dst = Path(dst)
    with scratch_file(dst.parent, dst.name) as tmp:
        yield tmp
        try:
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; a delivered file gets the usual mode
            with open(tmp, "r+b") as f:
                os.fsync(f.fileno())  # on disk before the rename, so a crash cannot leave it empty
            os.replace(tmp, dst)
        except OSError as exc:
            raise OutputError(f"{dst}: write failed ({exc.strerror or exc})") from None


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text_atomic(dst: str | os.PathLike, text: str) -> None:
    """Write a small text file atomically."""
    with atomic_path(dst) as tmp:
        try:
            tmp.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise OutputError(f"{dst}: write failed ({exc.strerror or exc})") from None
