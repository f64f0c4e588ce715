"""ActivityNet: where dialogue is, one probability per 10 ms frame.

A small convolutional network over log-mel frames, designed for this project: 40 mel bands
(HTK mel scale, 50 Hz to 7.8 kHz) of 25 ms Hann windows at a 10 ms hop, at 16 kHz (speech needs
no more, and dialogue recorded at 16 kHz must read the same as at 48 kHz), then a 1-D
convolution and residual blocks of dilated convolutions (dilations 1, 2, 4, ... as in WaveNet,
van den Oord et al. 2016, for a wide view at few weights) and one output per frame. It looks
both ways: frame t sees ``context_frames`` frames either side, 0.65 s with the default
dilations, enough to hear syllables, pauses and the steadiness of a musical note. No
recurrence, so a file is cut into pieces with that much overlap and the result is the same as
in one go (``infer/detect.py``).

Shapes: ``forward(audio [B, T] at 16 kHz) -> logits [B, T // 160]``; frame i covers samples
``[160 i, 160 i + 160)``, the 10 ms sub-block grid of the loudness meter.
"""

from __future__ import annotations

import math

import torch
from torch import nn

RATE = 16000
HOP = 160  # 10 ms
WINDOW = 400  # 25 ms
FFT = 512
LOW_HZ, HIGH_HZ = 50.0, 7800.0


def mel_filters(bands: int, sample_rate: int = RATE, fft: int = FFT) -> torch.Tensor:
    """``[bands, fft // 2 + 1]`` triangular filters equally spaced on the HTK mel scale,
    m = 2595 log10(1 + f / 700)."""
    def mel(f: float) -> float:
        return 2595 * math.log10(1 + f / 700)

    edges_mel = torch.linspace(mel(LOW_HZ), mel(HIGH_HZ), bands + 2, dtype=torch.float64)
    edges = 700 * (10 ** (edges_mel / 2595) - 1)
    freqs = torch.arange(fft // 2 + 1, dtype=torch.float64) * sample_rate / fft
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rise = (freqs - lower) / (centre - lower)
    fall = (upper - freqs) / (upper - centre)
    return torch.clamp(torch.minimum(rise, fall), min=0).float()


class Block(nn.Module):
    def __init__(self, channels: int, dilation: int) -> None:
        super().__init__()
        self.conv = nn.Conv1d(channels, channels, 3, padding=dilation, dilation=dilation)
        self.mix = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(torch.relu(self.conv(torch.relu(x))))


class ActivityNet(nn.Module):
    def __init__(self, bands: int = 40, channels: int = 48, dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32)) -> None:
        super().__init__()
        self.register_buffer("filters", mel_filters(bands), persistent=False)
        self.register_buffer("window", torch.hann_window(WINDOW), persistent=False)
        self.inp = nn.Conv1d(bands, channels, 5, padding=2)
        self.blocks = nn.Sequential(*(Block(channels, d) for d in dilations))
        self.out = nn.Conv1d(channels, 1, 1)
        self.context_frames = 2 + sum(dilations)

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """``[B, bands, T // 160]`` log-mel powers (natural log), one column per 10 ms frame.
        torch.stft centres the 400-sample window inside each 512-sample frame, so the window of
        frame i covers samples [160 i - 64, 160 i + 336): 3.5 ms later than the middle of its
        160 samples (the shipped weights learnt it so; it reaches two frames ahead, which the
        streaming overlap allows for)."""
        frames = audio.shape[-1] // HOP
        left = (WINDOW - HOP) // 2
        padded = nn.functional.pad(audio, (left, WINDOW))
        spec = torch.stft(padded, FFT, HOP, WINDOW, self.window, center=False, return_complex=True)
        power = spec[..., :frames].abs().pow(2)
        return torch.log(self.filters @ power + 1e-10)

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        x = self.inp(self.features(audio))
        return self.out(torch.relu(self.blocks(x)))[:, 0]
