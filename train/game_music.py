"""Recorded music for the dialogue detector: excerpts of the game soundtracks Debian packages,
so that it learns real instruments, mixes and productions are not dialogue (General MIDI
renderings, ``gm_music.py``, sound like one sound font). For training and validation only:
nothing here runs at run time, and nothing of it ships.

    apt-get install wesnoth-1.16-music hyperrogue-music drascula-music singularity-music asc-music
    python -m dxkit.train.game_music runs/game_music            # training: wesnoth, hyperrogue, drascula
    python -m dxkit.train.game_music runs/game_music_val --validation   # singularity, asc

Each track gives up to ``--per-track`` excerpts of ``--seconds`` (30 s) from evenly spaced
places, mixed to mono, 48 kHz 16-bit FLAC, named ``SOURCE_TRACK_N.flac``. The two sets share no
composer. Licences (each package's ``/usr/share/doc/PACKAGE/copyright``; README, "What the
shipped weights were trained on"): Battle for Wesnoth's music GPL-2+; HyperRogue's tracks by
Shawn Parrotte, Lincoln Domina and Will Savino CC BY-SA 3.0; Drascula's score (Alcachofa Soft)
freeware, redistributable; Endgame: Singularity's tracks by Max McCracken CC BY-SA 3.0;
Advanced Strategic Command's music GPL-2+.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

RATE = 48000
TRAINING = {"wesnoth": Path("/usr/share/games/wesnoth/1.16/data/core/music"),
            "hyperrogue": Path("/usr/share/hyperrogue/music"),
            "drascula": Path("/usr/share/scummvm/drascula/audio")}
VALIDATION = {"singularity": Path("/usr/share/games/singularity/music"),
              "asc": Path("/usr/share/games/asc/music")}
SHORTEST_S = 5.0  # a track shorter than this gives nothing


def excerpts(audio: np.ndarray, rate: int, seconds: float, count: int) -> list[np.ndarray]:
    """Up to ``count`` pieces of ``seconds`` from ``audio`` (``[T]``), evenly spaced; the whole
    of it where it is shorter than one piece."""
    n = int(seconds * rate)
    if len(audio) <= n:
        return [audio]
    starts = np.linspace(0, len(audio) - n, min(count, len(audio) // n))
    return [audio[int(s):int(s) + n] for s in starts]


def write_excerpts(sources: dict[str, Path], out: Path, seconds: float, per_track: int) -> float:
    """The excerpts of every OGG or MP3 track in each of ``sources`` (name -> folder), as
    ``out/NAME_TRACK_N.flac`` (mono, ``RATE``, 16-bit); tracks under ``SHORTEST_S`` give none.
    Returns the seconds written. SystemExit where a folder is missing (not installed)."""
    missing = [str(folder) for folder in sources.values() if not folder.is_dir()]
    if missing:
        raise SystemExit(f"error: not installed: {', '.join(missing)} (see this module's docstring)")
    out.mkdir(parents=True, exist_ok=True)
    written = 0.0
    for name, folder in sources.items():
        for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in (".ogg", ".mp3")):
            audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
            if len(audio) < SHORTEST_S * rate:
                continue
            mono = audio.mean(axis=1)
            mono = soxr.resample(mono, rate, RATE, quality="HQ").astype(np.float32) if rate != RATE else mono
            for i, piece in enumerate(excerpts(mono, RATE, seconds, per_track)):
                sf.write(str(out / f"{name}_{path.stem.replace(' ', '_')}_{i}.flac"), piece, RATE, subtype="PCM_16")
                written += len(piece) / RATE
        print(f"{name}: done", flush=True)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description="Excerpts of Debian's game soundtracks for detector training.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--validation", action="store_true", help="the validation set's sources, not training's")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--per-track", type=int, default=4)
    args = parser.parse_args()
    written = write_excerpts(VALIDATION if args.validation else TRAINING, args.out, args.seconds, args.per_track)
    print(f"wrote {written / 60:.0f} min to {args.out}")


if __name__ == "__main__":
    main()
