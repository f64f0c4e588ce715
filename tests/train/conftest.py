"""A tiny folder of speech-like audio for training tests (no corpus needed)."""

import numpy as np
import pytest
import soundfile as sf


def voice(rng: np.random.Generator, seconds: float, rate: int) -> np.ndarray:
    """A harmonic 'voice' with a wandering pitch, syllable-rate bursts and pauses."""
    t = np.arange(int(seconds * rate)) / rate
    f0 = rng.uniform(90, 220) * (1 + 0.1 * np.sin(2 * np.pi * rng.uniform(0.5, 2) * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    x = sum(np.sin(k * phase) / k for k in range(1, 25) if k * f0.max() < rate / 2)
    syllables = np.clip(np.sin(2 * np.pi * rng.uniform(3, 5) * t), 0, None) ** 2
    return (0.1 * x * syllables * (t % 2.0 < 1.6)).astype(np.float32)


@pytest.fixture(scope="session")
def speech_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("speech")
    rng = np.random.default_rng(0)
    for i, rate in enumerate([16000, 22050, 48000]):
        sf.write(folder / f"voice{i}.wav", voice(rng, 3.0, rate), rate)
    return folder
