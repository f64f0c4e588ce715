"""Synthetic noise for training: a wide variety, because the networks meet real noise they have
never heard. Every generator takes a numpy Generator and a length at 48 kHz and returns float32
noise at unit RMS. ``noise(rng, n)`` mixes one to three of them."""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy import signal

from .corpus import RATE


def unit_rms(x: np.ndarray) -> np.ndarray:
    rms = np.sqrt(np.mean(x.astype(np.float64) ** 2))
    return (x / rms).astype(np.float32) if rms > 0 else x.astype(np.float32)


def _shaped(rng: np.random.Generator, n: int, slope_db_oct: float, bumps: int = 4) -> np.ndarray:
    """White noise with a spectral slope and a few random broad peaks and dips (±10 dB)."""
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    octaves = np.log2(np.maximum(f, 20.0) / 1000.0)
    gain_db = slope_db_oct * octaves
    for _ in range(bumps):
        centre, width = rng.uniform(np.log2(50 / 1000), np.log2(16000 / 1000)), rng.uniform(0.3, 2.0)
        gain_db += rng.uniform(-10, 10) * np.exp(-0.5 * ((octaves - centre) / width) ** 2)
    return np.fft.irfft(spec * 10 ** (gain_db / 20), n)


def envelope(rng: np.random.Generator, n: int, rate_hz: float, depth: float) -> np.ndarray:
    """A smooth random gain around 1, changing at about ``rate_hz``."""
    points = max(int(n / RATE * rate_hz) + 2, 2)
    knots = rng.standard_normal(points)
    env = np.interp(np.linspace(0, points - 1, n), np.arange(points), knots)
    return np.clip(1.0 + depth * env, 0.05, None)


def coloured(rng, n):
    return unit_rms(_shaped(rng, n, rng.uniform(-9, 3)))


def modulated(rng, n):
    return unit_rms(_shaped(rng, n, rng.uniform(-6, 0)) * envelope(rng, n, rng.uniform(0.2, 8), rng.uniform(0.3, 1)))


def hum(rng, n):
    """Mains hum and buzz: 50 or 60 Hz with drifting pitch and many harmonics."""
    f0 = rng.choice([50.0, 60.0]) * (1 + rng.uniform(-0.005, 0.005))
    drift = 1 + 0.002 * np.cumsum(rng.standard_normal(n)) / np.sqrt(n)
    phase = 2 * np.pi * f0 * np.cumsum(drift) / RATE
    harmonics = rng.integers(3, 60)
    decay = rng.uniform(0.5, 2.0)
    out = np.zeros(n)
    # harmonic k is Im(e^{i k phase} e^{i theta}); e^{i k phase} by repeated multiplication
    # costs a complex product per sample where np.sin cost a transcendental (3.7x faster here)
    turn = np.exp(1j * phase)
    rotor = np.ones(n, complex)
    for k in range(1, harmonics + 1):
        if k * f0 > 20000:
            break
        rotor *= turn
        amp = rng.uniform(0.2, 1.0) * k ** -decay * (3.0 if (k % 2 and rng.random() < 0.5) else 1.0)
        theta = rng.uniform(0, 2 * np.pi)
        out += amp * (rotor.imag * np.cos(theta) + rotor.real * np.sin(theta))
    return unit_rms(out + 0.01 * rng.standard_normal(n))


def hvac(rng, n):
    """Air handling: low-passed rushing noise, a fan's blade-pass tone and its harmonics, swaying."""
    cutoff = rng.uniform(200, 3000)
    sos = signal.butter(2, cutoff, "low", fs=RATE, output="sos")
    rush = signal.sosfilt(sos, _shaped(rng, n, rng.uniform(-4, 0), bumps=2))
    rush /= np.std(rush) + 1e-12
    t = np.arange(n) / RATE
    blade = rng.uniform(20, 300)
    tones = sum(rng.uniform(0.05, 0.5) / k * np.sin(2 * np.pi * blade * k * t + rng.uniform(0, 6.3))
                for k in range(1, 6))
    return unit_rms((rush + tones) * envelope(rng, n, rng.uniform(0.1, 1), 0.2))


def traffic(rng, n):
    """Distant traffic: rumbling brown noise with vehicles swelling past, and a Doppler sweep."""
    brown = signal.sosfilt(signal.butter(1, 10, "high", fs=RATE, output="sos"),
                           np.cumsum(rng.standard_normal(n)))
    sos = signal.butter(2, rng.uniform(150, 1200), "low", fs=RATE, output="sos")
    rumble = signal.sosfilt(sos, brown)
    rumble /= np.std(rumble) + 1e-12
    t = np.arange(n) / RATE
    swell = np.ones(n)
    for _ in range(rng.integers(1, 4)):
        centre, width = rng.uniform(0, t[-1]), rng.uniform(0.5, 3)
        swell += rng.uniform(1, 6) * np.exp(-0.5 * ((t - centre) / width) ** 2)
    tyre = signal.sosfilt(signal.butter(2, [rng.uniform(300, 800), rng.uniform(1500, 4000)], "band",
                                        fs=RATE, output="sos"), rng.standard_normal(n))
    tyre /= np.std(tyre) + 1e-12
    return unit_rms(rumble * swell + rng.uniform(0, 0.5) * tyre * swell)


def wind(rng, n):
    """Wind on a microphone: gusty low-frequency buffeting and rumble."""
    gust = envelope(rng, n, rng.uniform(0.5, 4), 1.0) ** 2
    sos = signal.butter(2, rng.uniform(80, 600), "low", fs=RATE, output="sos")
    out = signal.sosfilt(sos, rng.standard_normal(n))
    out = out / (np.std(out) + 1e-12) * gust
    rumble = signal.sosfilt(signal.butter(2, 40, "low", fs=RATE, output="sos"), rng.standard_normal(n))
    return unit_rms(out + 3 * rumble / (np.std(rumble) + 1e-12) * gust)


def clicks(rng, n):
    """Clicks and crackle: sparse impulses with short decaying bright tails, over faint hiss."""
    out = 0.02 * rng.standard_normal(n)
    count = rng.poisson(rng.uniform(1, 40) * n / RATE)
    for pos in rng.integers(0, n, count):
        length = int(rng.uniform(0.0002, 0.004) * RATE)
        tail = rng.standard_normal(length) * np.exp(-np.arange(length) / (length / 4 + 1))
        end = min(n, pos + length)
        out[pos:end] += rng.uniform(0.2, 1.0) * tail[:end - pos] * rng.choice([-1, 1])
    return unit_rms(out)


def whine(rng, n):
    """Electrical whine: a few high steady tones that drift slightly."""
    t = np.arange(n) / RATE
    out = 0.01 * rng.standard_normal(n)
    for _ in range(rng.integers(1, 4)):
        f = rng.uniform(1000, 16000) * (1 + 0.001 * np.sin(2 * np.pi * rng.uniform(0.1, 1) * t))
        out += rng.uniform(0.2, 1) * np.sin(2 * np.pi * np.cumsum(f) / RATE)
    return unit_rms(out)


GENERATORS: dict[str, Callable[[np.random.Generator, int], np.ndarray]] = {
    "coloured": coloured, "modulated": modulated, "hum": hum, "hvac": hvac, "traffic": traffic,
    "wind": wind, "clicks": clicks, "whine": whine,
}


def noise(rng: np.random.Generator, n: int, babble: Callable[[int], np.ndarray] | None = None,
          kinds: list[str] | None = None) -> np.ndarray:
    """One to three kinds of synthetic noise at random relative levels, unit RMS. ``babble(n)``,
    if given, supplies babble (several voices) as one more kind."""
    pool = list(kinds or GENERATORS)
    if babble is not None and kinds is None:
        pool.append("babble")
    total = np.zeros(n, np.float32)
    for kind in rng.choice(pool, size=min(int(rng.integers(1, 4)), len(pool)), replace=False):
        part = babble(n) if kind == "babble" else GENERATORS[kind](rng, n)
        total += unit_rms(part) * np.float32(10 ** (rng.uniform(-12, 0) / 20))
    return unit_rms(total)
