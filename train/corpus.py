"""Folders of audio for training: clean speech, a user's noise, measured room responses.

Files at any rate are read once, mixed to mono and resampled to 48 kHz. Each clip keeps the
bandwidth it really has (half its source rate): speech recorded at 16 kHz says nothing about
8-24 kHz, and the loss must not teach the network that speech stops at 8 kHz.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

RATE = 48000
AUDIO_SUFFIXES = {".wav", ".flac", ".ogg", ".mp3", ".aif", ".aiff"}


@dataclass(frozen=True)
class Clip:
    """One file's audio at 48 kHz, mono float32, with the bandwidth its source could carry."""

    name: str
    audio: np.ndarray
    bandwidth_hz: float


def audio_files(folders: list[str | os.PathLike], exclude: set[str] = frozenset()) -> list[Path]:
    """Audio files under ``folders`` (recursively, sorted), leaving out names in ``exclude``."""
    found = []
    for folder in folders:
        root = Path(folder).expanduser()
        if not root.is_dir():
            raise FileNotFoundError(f"{root}: no such folder")
        found += [p for p in root.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES
                  and p.name not in exclude and not p.name.startswith(".")]
    return sorted(found)


def read_exclusions(paths: str | os.PathLike | Sequence[str | os.PathLike] | None) -> set[str]:
    """File names listed one per line in ``paths``, one file or several (``#`` comments
    allowed); empty if None."""
    if not paths:
        return set()
    names = set()
    for path in [paths] if isinstance(paths, (str, os.PathLike)) else paths:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
        names |= {line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()}
    return names


def load_clip(path: Path, min_seconds: float = 0.5) -> Clip | None:
    """Read ``path`` as a 48 kHz mono Clip; None if it is shorter than ``min_seconds``."""
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    if len(audio) < min_seconds * rate:
        return None
    if rate != RATE:
        audio = soxr.resample(audio, rate, RATE, quality="HQ").astype(np.float32)
    return Clip(path.name, np.ascontiguousarray(audio), min(rate, RATE) / 2)


def load_folder(folders: list[str | os.PathLike], exclude: set[str] = frozenset(),
                min_seconds: float = 0.5) -> list[Clip]:
    """Every clip under ``folders`` of at least ``min_seconds``; raises if there is none."""
    clips = [c for c in (load_clip(p, min_seconds) for p in audio_files(folders, exclude)) if c is not None]
    if not clips:
        raise FileNotFoundError(f"no usable audio under {', '.join(map(str, folders))}")
    return clips
