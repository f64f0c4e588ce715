"""Shared test signals: short, synthetic, seeded."""

from __future__ import annotations

import numpy as np
import soundfile as sf


def sine(freq: float, dbfs: float, seconds: float, rate: int = 48000, phase: float = 0.0) -> np.ndarray:
    """A sine whose peak is ``dbfs`` (the Tech 3341 convention), shape [T]."""
    t = np.arange(int(round(seconds * rate))) / rate
    return 10 ** (dbfs / 20) * np.sin(2 * np.pi * freq * t + phase)


def programme(seconds: float = 24.0, rate: int = 48000, channels: int = 2, seed: int = 0) -> np.ndarray:
    """Speech-like programme [C, T]: syllable-modulated, formant-coloured noise with loud and
    quiet passages (12 dB apart), pauses with a quiet room tone, and bursts of a tone at fs/4
    with a 45-degree phase, whose true peak sits 3 dB above its sample peak."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    source = rng.standard_normal(n)
    from scipy.signal import butter, sosfilt

    voiced = sum(sosfilt(butter(2, (f * 0.8, f * 1.2), "bandpass", fs=rate, output="sos"), source) * g
                 for f, g in ((500, 1.0), (1500, 0.6), (2500, 0.3)))
    syllables = np.clip(np.sin(2 * np.pi * 4 * t + rng.uniform(0, 6)), 0, None) ** 2
    passage = np.where((t // 4) % 2 == 0, 1.0, 10 ** (-12 / 20))
    pauses = np.where((t % 8) > 7.2, 0.0, 1.0)
    speech = voiced * syllables * passage * pauses
    speech *= 0.1 / np.sqrt(np.mean(speech ** 2))
    x = np.tile(speech, (channels, 1)) * np.linspace(1.0, 0.7, channels)[:, None]
    x += 10 ** (-75 / 20) * rng.standard_normal((channels, n))
    for start in np.arange(2.0, seconds - 1, 5.0):
        i = int(start * rate)
        burst = 0.2 * np.sin(2 * np.pi * rate / 4 * t[:int(0.05 * rate)] + np.pi / 4)
        x[:, i:i + burst.size] += burst
    return x.astype(np.float32)


def write(path, signal: np.ndarray, rate: int, subtype: str = "FLOAT") -> str:
    """Write [C, T] (or [T]) to ``path``; returns the path as str."""
    data = signal if signal.ndim == 1 else signal.T
    sf.write(str(path), data, rate, subtype=subtype)
    return str(path)
