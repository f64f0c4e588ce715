"""SileroVAD: silero-vad's speech detector (6.2, 16 kHz; MIT, Copyright (c) 2020-present Silero
Team), written here in torch from its published architecture and run over a whole stretch at
once. The weights (``weights/silero_vad.safetensors``) are the package's own, taken from its
ONNX model by ``data/silero_vad/prepare.py``.

The network is small and its layers are listed in the package's models: per 32 ms chunk (512 samples at 16 kHz,
with the 64 samples before it as context, reflect-padded by 64 on the right), a fixed STFT as a
convolution (256-sample kernels, hop 128, 129 bins as real and imaginary halves), the
magnitude, four convolutions with ReLU (kernel 3; strides 1, 2, 2, 1) down to one 128-wide
vector, an LSTM cell (128) carried from chunk to chunk, ReLU, a 1x1 convolution and a sigmoid:
one probability of speech per chunk. The package runs it chunk by chunk from Python; here every
chunk's convolutions run as one batch and the LSTM runs over the sequence of chunks
(``torch.nn.LSTM`` with the cell's weights: the same gates in the same order), which gives the
same numbers (tested against the package's ONNX model) about 7 times faster on one thread.

Shapes: ``forward(chunks [N, 576], state) -> (probabilities [N], state)``, ``state`` the LSTM's
``(h, c)``, each ``[1, 1, 128]`` (None at the start of a file); ``chunks`` from ``frame``.
"""

from __future__ import annotations

import torch
from torch import nn

RATE = 16000
CHUNK = 512  # 32 ms: one probability each
CONTEXT = 64  # samples of the chunk before, prepended
FFT = 256
HOP = 128


def frame(audio: torch.Tensor, previous: torch.Tensor | None = None) -> torch.Tensor:
    """``[N, CONTEXT + CHUNK]`` chunks of ``audio`` (a whole number of chunks, ``[T]``), each
    after the last ``CONTEXT`` samples before it (``previous``: those of the stretch before;
    zeros at a file's start)."""
    chunks = audio.reshape(-1, CHUNK)
    before = torch.zeros(CONTEXT) if previous is None else previous
    context = torch.cat((before[None], chunks[:-1, -CONTEXT:]))
    return torch.cat((context, chunks), dim=1)


class SileroVAD(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.stft = nn.Conv1d(1, FFT + 2, FFT, stride=HOP, bias=False)
        self.convs = nn.ModuleList([nn.Conv1d(FFT // 2 + 1, 128, 3, padding=1),
                                    nn.Conv1d(128, 64, 3, stride=2, padding=1),
                                    nn.Conv1d(64, 64, 3, stride=2, padding=1),
                                    nn.Conv1d(64, 128, 3, padding=1)])
        self.lstm = nn.LSTM(128, 128, batch_first=True)
        self.out = nn.Conv1d(128, 1, 1)

    def forward(self, chunks: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        x = nn.functional.pad(chunks[:, None], (0, CONTEXT), mode="reflect")
        spec = self.stft(x)
        bins = FFT // 2 + 1
        x = torch.sqrt(spec[:, :bins] ** 2 + spec[:, bins:] ** 2)
        for conv in self.convs:
            x = torch.relu(conv(x))
        h, state = self.lstm(x.squeeze(2)[None], state)  # the chunk is down to one step: one per chunk
        return torch.sigmoid(self.out(torch.relu(h[0]).T[None]))[0, 0], state
