"""BandNet: the one architecture behind denoise, dereverb and deplosive.

A causal STFT-domain network, designed for this project from three published ideas:

- RNNoise (Valin 2018, "A hybrid DSP/deep learning approach to real-time full-band speech
  enhancement"): a GRU over frames that predicts one gain per perceptual band, cheap enough for
  real time on one CPU thread.
- DeepFilterNet (Schröter et al. 2022, "DeepFilterNet: a low complexity speech enhancement
  framework for full-band audio based on deep filtering"): ERB-band gains for the envelope plus
  a "deep filter", a complex FIR over the last few frames of each low bin, which can rebuild the
  periodic structure between harmonics that band gains cannot, and can cancel part of a pop or a
  reverberant tail. Compressed spectra (|X|^0.3) as input features, as there.
- DeepFilterNet's attenuation limit as the strength knob: ``strength_db`` mixes the input back in
  at -strength_db, so a bin the band gains close is attenuated by at most ``strength_db``. In the
  deep-filtered low bins the filter can also turn the phase, and the mix can then land lower.

Shapes: a wave is ``[B, T]`` float32 at 48 kHz (one channel per row); a spectrum is
``[B, frames, bins]`` complex. The STFT is 20 ms sqrt-Hann windows at a 10 ms hop, so the
algorithmic look-ahead is one window, 20 ms, plus ``lookahead`` frames: the gains and filter for
frame t come from the GRU's output at frame t + lookahead (files are offline, so a few frames of
future cost nothing but that delay; DeepFilterNet 2 uses two). ``enhance`` takes and returns the
GRU state, the frames still waiting for their look-ahead and the deep filter's past frames
(``State``), so spectra can be processed in pieces with the same result as in one go (tested);
its output runs ``lookahead`` frames behind its input. ``forward`` is the whole-signal path (one
STFT, fresh state, the delay removed) that training uses; ``infer/stream.py`` runs the same
computation in chunks.

Bands that reach above ``gain_top_hz`` take the gain of the highest band wholly below it: the
shipped networks are trained on speech recorded at 16 to 32 kHz, so nothing teaches them what
speech above 16 kHz is, and the tie keeps the top octave moving with the band beneath it instead
of guessing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .erb import band_matrix, band_of_bin, band_widths

COMPRESSION = 0.3  # |X|^0.3 features, as DeepFilterNet and many speech networks use
EPS = 1e-10


def compress(spec: torch.Tensor, eps: float = EPS) -> torch.Tensor:
    """``|X|^0.3`` with the phase of ``X``: the compressed spectrum networks and losses compare."""
    return spec * (spec.abs() + eps) ** (COMPRESSION - 1.0)


@dataclass
class State:
    """What one chunk leaves for the next: GRU hidden state and the deep filter's past frames."""

    hidden: torch.Tensor  # [layers, B, hidden]
    past: torch.Tensor  # [B, order - 1, df_bins] complex, the gain-enhanced spectrum
    waiting: torch.Tensor  # [B, lookahead, bins] complex, input frames not yet enhanced


class BandNet(nn.Module):
    """ERB-band gains plus a causal deep filter on the low bins, driven by a GRU."""

    def __init__(self, sample_rate: int = 48000, n_fft: int = 960, hop: int = 480,
                 bands: int = 32, df_bins: int = 96, df_order: int = 3, hidden: int = 256,
                 layers: int = 2, gain_top_hz: float = 16000.0, lookahead: int = 0) -> None:
        super().__init__()
        if sample_rate != 48000:
            raise ValueError("BandNet runs at 48 kHz")
        if lookahead < 0:
            raise ValueError(f"lookahead: expected 0 or more frames, got {lookahead}")
        self.lookahead = lookahead
        self.sample_rate, self.n_fft, self.hop = sample_rate, n_fft, hop
        self.n_bins = n_fft // 2 + 1
        self.df_bins, self.df_order, self.hidden_size, self.layers = df_bins, df_order, hidden, layers
        widths = band_widths(self.n_bins, sample_rate, bands)
        self.register_buffer("bands", band_matrix(widths), persistent=False)
        bin_hz = sample_rate / n_fft
        band_end_hz = torch.cumsum(torch.tensor(widths), 0) * bin_hz
        self.trained_bands = max(1, int((band_end_hz <= gain_top_hz).sum()))
        gain_index = band_of_bin(widths).clamp(max=self.trained_bands - 1)
        self.register_buffer("gain_index", gain_index, persistent=False)
        self.register_buffer("window", torch.hann_window(n_fft).sqrt(), persistent=False)

        self.encoder = nn.Sequential(nn.Linear(bands + 2 * df_bins, hidden), nn.LayerNorm(hidden),
                                     nn.ReLU())
        self.gru = nn.GRU(hidden, hidden, num_layers=layers, batch_first=True)
        self.gain_head = nn.Linear(2 * hidden, self.trained_bands)
        self.df_head = nn.Linear(2 * hidden, df_bins * df_order * 2)
        nn.init.zeros_(self.df_head.weight)
        nn.init.zeros_(self.df_head.bias)
        identity = torch.zeros(df_order)
        identity[0] = 1.0  # tap 0 is the current frame: the deep filter starts as a pass-through
        self.register_buffer("df_identity", identity, persistent=False)

    # --- the STFT edge ---------------------------------------------------------------------
    def stft(self, wave: torch.Tensor) -> torch.Tensor:
        """``[B, T]`` -> ``[B, frames, bins]``; frame k is centred on sample k * hop."""
        spec = torch.stft(wave, self.n_fft, self.hop, window=self.window, center=True,
                          pad_mode="constant", return_complex=True)
        return spec.transpose(1, 2)

    def istft(self, spec: torch.Tensor, length: int) -> torch.Tensor:
        return torch.istft(spec.transpose(1, 2), self.n_fft, self.hop, window=self.window,
                           center=True, length=length)

    # --- the network -----------------------------------------------------------------------
    def initial_state(self, batch: int, device: torch.device | None = None) -> State:
        device = device or self.window.device
        return State(torch.zeros(self.layers, batch, self.hidden_size, device=device),
                     torch.zeros(batch, self.df_order - 1, self.df_bins, dtype=torch.complex64,
                                 device=device),
                     torch.zeros(batch, self.lookahead, self.n_bins, dtype=torch.complex64,
                                 device=device))

    def features(self, spec: torch.Tensor) -> torch.Tensor:
        power = spec.real.square() + spec.imag.square()
        band_db = 10.0 * torch.log10(power @ self.bands + EPS)
        low = compress(spec[..., :self.df_bins])
        return torch.cat([(band_db + 60.0) / 30.0, low.real, low.imag], dim=-1)

    def enhance(self, spec: torch.Tensor, state: State | None = None,
                strength_db: float | None = None) -> tuple[torch.Tensor, State]:
        """Enhance ``[B, frames, bins]`` complex spectra; returns as many frames, ``lookahead``
        frames behind the input (the first come from ``state``), and the next state."""
        batch, frames, _ = spec.shape
        state = state or self.initial_state(batch, spec.device)
        with torch.autocast(spec.device.type, enabled=False):
            # band energies span far more than fp16's range (a pop's band sum passes 65504,
            # silence's falls under 1e-10): the features are always float32, autocast or not
            features = self.features(spec)
        x = self.encoder(features)
        h, hidden = self.gru(x, state.hidden)
        h = torch.cat([h, x], dim=-1)
        # h[t] has heard frame t: it enhances ``due[t]``, the frame ``lookahead`` before it
        queue = torch.cat([state.waiting.to(spec.dtype), spec], dim=1)
        due, waiting = queue[:, :frames], queue[:, frames:]
        gains = torch.sigmoid(self.gain_head(h).float())[..., self.gain_index]
        enhanced = due * gains

        coef = self.df_head(h).float().view(batch, frames, self.df_bins, self.df_order, 2)
        coef = torch.complex(coef[..., 0] + self.df_identity, coef[..., 1])
        low = enhanced[..., :self.df_bins]
        history = torch.cat([state.past.to(low.dtype), low], dim=1)  # [B, order-1+frames, df]
        filtered = torch.zeros_like(low)
        for tap in range(self.df_order):
            start = self.df_order - 1 - tap
            filtered = filtered + coef[..., tap] * history[:, start:start + frames]
        enhanced = torch.cat([filtered, enhanced[..., self.df_bins:]], dim=-1)

        if strength_db is not None:
            floor = 10.0 ** (-strength_db / 20.0)
            enhanced = enhanced * (1.0 - floor) + due * floor
        next_past = history[:, -(self.df_order - 1):] if self.df_order > 1 else state.past
        return enhanced, State(hidden, next_past, waiting)

    def forward(self, wave: torch.Tensor, strength_db: float | None = None) -> torch.Tensor:
        """Whole-signal enhancement: ``[B, T]`` -> ``[B, T]``, same length, no added delay.

        The signal is padded with silence to whole hops and then ``lookahead`` hops more, so
        every output sample lies under two full frames and the last frames hear their future
        (the streaming runner, ``infer/stream.py``, frames it the same way); the output, which
        runs ``lookahead`` hops late, is moved back."""
        length = wave.shape[-1]
        delay = self.lookahead * self.hop
        padded = torch.nn.functional.pad(wave, (0, -length % self.hop + delay))
        spec, _ = self.enhance(self.stft(padded), strength_db=strength_db)
        return self.istft(spec, padded.shape[-1])[..., delay:delay + length]
