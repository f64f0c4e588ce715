"""ERB-spaced frequency bands over STFT bins, for band features and band gains.

The ERB-rate scale is Glasberg & Moore (1990), "Derivation of auditory filter shapes from
notched-noise data", Hear. Res. 47: ERB-rate(f) = 21.4 log10(1 + 0.00437 f). Bands are
rectangular (each bin belongs to one band) with at least ``min_bins`` bins, as in DeepFilterNet
(Schröter et al. 2022), so the lowest bands are not narrower than the STFT can resolve.
"""

from __future__ import annotations

import math

import torch


def erb_rate(hz: float) -> float:
    return 21.4 * math.log10(1.0 + 0.00437 * hz)


def erb_rate_to_hz(erb: float) -> float:
    return (10.0 ** (erb / 21.4) - 1.0) / 0.00437


def band_widths(n_bins: int, sample_rate: int, n_bands: int, min_bins: int = 2) -> list[int]:
    """Number of STFT bins in each of ``n_bands`` ERB-spaced bands covering ``n_bins`` bins."""
    nyquist = sample_rate / 2
    bin_hz = nyquist / (n_bins - 1)
    top = erb_rate(nyquist)
    edges = [round(erb_rate_to_hz(top * k / n_bands) / bin_hz) for k in range(n_bands + 1)]
    widths, start = [], 0
    for k in range(1, n_bands + 1):
        stop = max(edges[k], start + min_bins)
        remaining_bands = n_bands - k
        stop = min(stop, n_bins - remaining_bands * min_bins)
        widths.append(stop - start)
        start = stop
    widths[-1] += n_bins - start
    if min(widths) < 1:
        raise ValueError(f"{n_bands} bands do not fit into {n_bins} bins")
    return widths


def band_matrix(widths: list[int]) -> torch.Tensor:
    """``[bins, bands]`` matrix that averages bin powers into band powers."""
    n_bins = sum(widths)
    m = torch.zeros(n_bins, len(widths))
    start = 0
    for b, w in enumerate(widths):
        m[start:start + w, b] = 1.0 / w
        start += w
    return m


def band_of_bin(widths: list[int]) -> torch.Tensor:
    """Index of the band each bin belongs to, ``[bins]`` long."""
    return torch.repeat_interleave(torch.arange(len(widths)), torch.tensor(widths))
