"""Training loss: multi-resolution spectral distance on compressed spectra.

Magnitude and complex terms on |X|^0.3-compressed STFTs at three resolutions, as in
DeepFilterNet's training (Schröter et al. 2022, eq. 8-9, after Braun & Tashev 2021, "A consolidated
view of loss functions for supervised deep learning-based speech enhancement"). The compression
weighs quiet parts (consonants, decays, the noise floor between words) closer to how they are
heard. Bins above each example's true bandwidth are left out: a 16 kHz recording says nothing about
what speech does above 8 kHz.
"""

from __future__ import annotations

import torch

from dxkit.models.bandnet import compress

LOSS_EPS = 1e-8  # keeps the gradient of |X|^-0.7 finite in silent bins


class SpectralLoss(torch.nn.Module):
    """``loss(estimate [B, T], target [B, T], bandwidth_hz [B]) -> scalar``."""

    def __init__(self, sample_rate: int = 48000, resolutions: tuple[int, ...] = (512, 1024, 2048),
                 complex_weight: float = 1.0) -> None:
        super().__init__()
        self.sample_rate, self.resolutions, self.complex_weight = sample_rate, resolutions, complex_weight
        for n in resolutions:
            self.register_buffer(f"window{n}", torch.hann_window(n), persistent=False)

    def forward(self, estimate: torch.Tensor, target: torch.Tensor,
                bandwidth_hz: torch.Tensor) -> torch.Tensor:
        total = estimate.new_zeros(())
        for n in self.resolutions:
            window = getattr(self, f"window{n}")
            est, ref = (compress(torch.stft(x, n, n // 4, window=window, return_complex=True), LOSS_EPS)
                        for x in (estimate, target))
            freqs = torch.arange(est.shape[1], device=est.device) * self.sample_rate / n
            keep = (freqs[None, :] <= 0.95 * bandwidth_hz[:, None]).to(est.real.dtype)[..., None]
            count = keep.sum() * est.shape[-1] + 1e-8
            magnitude = ((est.abs() - ref.abs()) ** 2 * keep).sum() / count
            complex_term = ((est - ref).abs() ** 2 * keep).sum() / count
            total = total + magnitude + self.complex_weight * complex_term
        return total / len(self.resolutions)
