"""Endless streams of random training examples for Lightning's DataLoader."""

from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import IterableDataset, get_worker_info

from . import render
from .activity import ActivityMixer
from .mixtures import Mixer


class MixtureStream(IterableDataset):
    """Yields ``(noisy [T], target [T], bandwidth_hz)`` tensors, forever; or, with ``recipes``,
    ``Recipe.tensors()`` for the training device to render (``render.render``). Every process
    rank and loader worker draws from its own seeded generator, so runs are reproducible and no
    two workers repeat each other; both forms give the same examples for the same seed."""

    def __init__(self, mixer: Mixer, seconds: float, seed: int, rank: int = 0, recipes: bool = False) -> None:
        self.mixer, self.samples, self.seed, self.rank = mixer, int(seconds * 48000), seed, rank
        self.recipes = recipes

    def __iter__(self):
        info = get_worker_info()
        worker = info.id if info else 0
        rng = np.random.default_rng([self.seed, self.rank, worker])
        while True:
            if self.recipes:
                yield self.mixer.recipe(rng, self.samples).tensors()
                continue
            ex = self.mixer.example(rng, self.samples)
            noisy, target = render.full_scale(torch.from_numpy(ex.noisy)[None], torch.from_numpy(ex.target)[None])
            yield noisy[0], target[0], torch.tensor(ex.bandwidth_hz, dtype=torch.float32)


class ActivityStream(IterableDataset):
    """Yields ``(audio [T] at 16 kHz, labels [T // 160])`` tensors for the dialogue detector,
    forever, each worker from its own seeded generator (as ``MixtureStream``)."""

    def __init__(self, mixer: ActivityMixer, seconds: float, seed: int, rank: int = 0) -> None:
        self.mixer, self.samples, self.seed, self.rank = mixer, int(seconds * 48000), seed, rank

    def __iter__(self):
        info = get_worker_info()
        rng = np.random.default_rng([self.seed, self.rank, info.id if info else 0])
        while True:
            audio, labels = self.mixer.example(rng, self.samples)
            yield torch.from_numpy(audio), torch.from_numpy(labels)
