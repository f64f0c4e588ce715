"""The Lightning systems: one network, its loss and its optimiser (a restoration network, or the
dialogue detector)."""

from __future__ import annotations

import math

import lightning as L
import torch

from .losses import SpectralLoss


class System(L.LightningModule):
    """Trains ``model``: AdamW, linear warm-up, cosine decay to 1 % over ``max_steps``; the
    subclass says what a step's loss is."""

    def __init__(self, model: torch.nn.Module, lr: float = 1e-3, weight_decay: float = 1e-4,
                 warmup_steps: int = 200, max_steps: int = 10000) -> None:
        super().__init__()
        self.model = model
        self.lr, self.weight_decay = lr, weight_decay
        self.warmup_steps, self.max_steps = warmup_steps, max_steps

    def step_loss(self, batch) -> torch.Tensor:
        raise NotImplementedError

    def training_step(self, batch, batch_idx):
        loss = self.step_loss(batch)
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


class RestorationSystem(System):
    """A restoration network (``[B, T]`` -> ``[B, T]``) on ``(noisy, target, bandwidth_hz)``
    batches, with the spectral loss."""

    def __init__(self, model: torch.nn.Module, si_sdr_weight: float = 0.0, **optim) -> None:
        super().__init__(model, **optim)
        self.loss = SpectralLoss(si_sdr_weight=si_sdr_weight)

    def step_loss(self, batch) -> torch.Tensor:
        noisy, target, bandwidth = batch
        return self.loss(self.model(noisy), target, bandwidth)


class ActivitySystem(System):
    """The dialogue detector (``[B, T]`` at 16 kHz -> a logit per 10 ms frame) on ``(audio,
    labels)`` batches, with binary cross-entropy."""

    def step_loss(self, batch) -> torch.Tensor:
        audio, labels = batch
        logits = self.model(audio)
        n = min(logits.shape[-1], labels.shape[-1])
        return torch.nn.functional.binary_cross_entropy_with_logits(logits[:, :n], labels[:, :n])
