"""Room impulse responses: simulated shoebox rooms (pyroomacoustics, image source plus ray
tracing) and measured responses, and the early-reflection target for dereverberation.

The dereverb target keeps the direct path and the first 50 ms after it: early reflections are
heard as part of the voice (they raise clarity), late reverberation is what hurts it. The 50 ms
boundary is the C50 clarity limit for speech (ISO 3382-1:2009, Annex A).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np

from .corpus import RATE, load_folder

EARLY_S = 0.050
FADE_S = 0.005
LEAD_S = 0.0025  # kept before a measured response's direct path


def simulate(rng: np.random.Generator, rt60_s: float) -> np.ndarray:
    """One RIR at 48 kHz from a random shoebox room tuned (Sabine) to about ``rt60_s``."""
    import pyroomacoustics as pra  # heavy import, only where rooms are made

    # pyroomacoustics' ray tracer draws from its own generators (numpy's and C++'s), seeded from
    # true randomness unless told: seed them from ours, or the same seed gives another room
    pra.random.seed(int(rng.integers(2 ** 31)))
    dim = np.array([rng.uniform(3, 12), rng.uniform(3, 10), rng.uniform(2.4, 4.0)])
    absorption, _ = pra.inverse_sabine(rt60_s, dim)
    room = pra.ShoeBox(dim, fs=RATE, materials=pra.Material(min(absorption, 0.99)), max_order=3,
                       ray_tracing=True, air_absorption=True)
    room.set_ray_tracing()
    margin = 0.5
    mic = rng.uniform(margin, dim - margin)
    for _ in range(100):
        src = rng.uniform(margin, dim - margin)
        src[2] = rng.uniform(1.2, min(1.9, dim[2] - 0.3))
        if 0.5 <= np.linalg.norm(src - mic) <= 4.0:
            break
    room.add_source(src)
    room.add_microphone(mic)
    room.compute_rir()
    return np.asarray(room.rir[0][0], dtype=np.float32)


def early_part(rir: np.ndarray) -> np.ndarray:
    """The direct path (taken as the strongest tap) and ``EARLY_S`` after it, with a short fade."""
    direct = int(np.argmax(np.abs(rir)))
    end = direct + int(EARLY_S * RATE)
    fade = int(FADE_S * RATE)
    early = np.zeros_like(rir)
    stop = min(end, len(rir))
    early[:stop] = rir[:stop]
    ramp = 0.5 * (1 + np.cos(np.pi * np.arange(fade) / fade))
    tail = rir[stop:stop + fade]
    early[stop:stop + len(tail)] = tail * ramp[:len(tail)]
    return early


def normalise(rir: np.ndarray) -> np.ndarray:
    """Scale so the direct path has unit amplitude: reverb then adds level, as in a real room."""
    return (rir / np.max(np.abs(rir))).astype(np.float32)


def bank(count: int, rt60_range: tuple[float, float], seed: int,
         cache_dir: str | os.PathLike | None = None) -> list[np.ndarray]:
    """``count`` simulated RIRs with RT60 uniform in ``rt60_range``; cached as .npz if asked."""
    key = hashlib.sha1(f"{count}-{rt60_range}-{seed}-v2".encode()).hexdigest()[:12]
    cache = Path(cache_dir).expanduser() / f"rirs-{key}.npz" if cache_dir else None
    if cache and cache.exists():
        with np.load(cache) as f:
            return [f[k] for k in sorted(f.files, key=int)]
    rng = np.random.default_rng(seed)
    rirs = [normalise(simulate(rng, rng.uniform(*rt60_range))) for _ in range(count)]
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_name(f".{cache.name}.{os.getpid()}.npz")
        np.savez(tmp, **{str(i): r for i, r in enumerate(rirs)})
        os.replace(tmp, cache)
    return rirs


def align(rir: np.ndarray) -> np.ndarray:
    """``rir`` starting ``LEAD_S`` before its direct path (the strongest tap, as in
    ``early_part``): a measured response starts wherever its recording did, and the time before
    the sound arrives would only delay input and target alike."""
    start = max(0, int(np.argmax(np.abs(rir))) - int(LEAD_S * RATE))
    return rir[start:]


def measured(folders: list[str | os.PathLike], exclude: set[str] = frozenset()) -> list[np.ndarray]:
    """Measured RIRs under ``folders`` but those named in ``exclude`` (any rate, resampled to
    48 kHz), each aligned on its direct path and normalised."""
    return [normalise(align(c.audio)) for c in load_folder(folders, exclude, min_seconds=0.0)]
