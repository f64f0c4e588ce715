"""An endless stream of random training examples for Lightning's DataLoader."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from .mixtures import Mixer


class MixtureStream(IterableDataset):
    """Yields ``(noisy [T], target [T], bandwidth_hz)`` tensors, forever. Every process rank and
    loader worker draws from its own seeded generator, so runs are reproducible and no two
    workers repeat each other."""

    def __init__(self, mixer: Mixer, seconds: float, seed: int, rank: int = 0) -> None:
        self.mixer, self.samples, self.seed, self.rank = mixer, int(seconds * 48000), seed, rank

    def __iter__(self):
        info = get_worker_info()
        worker = info.id if info else 0
        rng = np.random.default_rng([self.seed, self.rank, worker])
        while True:
            ex = self.mixer.example(rng, self.samples)
            peak = max(float(np.max(np.abs(ex.noisy))), 1e-9)
            scale = min(1.0, 0.99 / peak)  # keep the input inside full scale, as a file would be
            yield (torch.from_numpy(ex.noisy * scale), torch.from_numpy(ex.target * scale),
                   torch.tensor(ex.bandwidth_hz, dtype=torch.float32))
