"""The Lightning system: one restoration network, its loss and its optimiser."""

from __future__ import annotations

import math

import lightning as L
import torch

from .losses import SpectralLoss


class RestorationSystem(L.LightningModule):
    """Trains ``model`` (``[B, T]`` -> ``[B, T]``) on ``(noisy, target, bandwidth_hz)`` batches
    with the spectral loss; AdamW, linear warm-up, cosine decay to 1 % over ``max_steps``."""

    def __init__(self, model: torch.nn.Module, lr: float = 1e-3, weight_decay: float = 1e-4,
                 warmup_steps: int = 200, max_steps: int = 10000, si_sdr_weight: float = 0.0) -> None:
        super().__init__()
        self.model = model
        self.loss = SpectralLoss(si_sdr_weight=si_sdr_weight)
        self.lr, self.weight_decay = lr, weight_decay
        self.warmup_steps, self.max_steps = warmup_steps, max_steps

    def training_step(self, batch, batch_idx):
        noisy, target, bandwidth = batch
        loss = self.loss(self.model(noisy), target, bandwidth)
        self.log("loss", loss, prog_bar=True, sync_dist=False)
        return loss

    def configure_optimizers(self):
        opt = torch.optim.AdamW(self.model.parameters(), lr=self.lr, weight_decay=self.weight_decay)

        def schedule(step: int) -> float:
            if step < self.warmup_steps:
                return (step + 1) / self.warmup_steps
            progress = min(1.0, (step - self.warmup_steps) / max(1, self.max_steps - self.warmup_steps))
            return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * progress))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}
