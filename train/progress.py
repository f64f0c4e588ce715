"""What ``dxkit train`` shows while it trains: the step of all steps, the loss, examples per
second and the time left; a bar redrawn on a terminal, a line every ``log_every`` steps in a log."""

from __future__ import annotations

import sys
import time
from collections import deque
from typing import TextIO

import lightning as L

from dxkit.infer.status import StatusLine

BAR = 20  # characters


def clock(seconds: float) -> str:
    """``3725`` -> ``"1:02:05"``."""
    s = int(round(seconds))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


class TrainProgress(L.Callback):
    """Prints progress on global rank 0; ``batch_size`` is examples per step and process."""

    def __init__(self, batch_size: int, log_every: int, out: TextIO | None = None) -> None:
        self.batch_size, self.log_every = batch_size, max(1, log_every)
        self.out = out
        self.losses: deque[float] = deque(maxlen=self.log_every)  # the mean shown is over these

    def on_train_start(self, trainer, module) -> None:
        self.line = StatusLine(self.out or sys.stdout)
        self.started, self.first = time.perf_counter(), trainer.global_step

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if not trainer.is_global_zero:
            return
        self.losses.append(float(outputs["loss"] if isinstance(outputs, dict) else outputs))
        step, total = trainer.global_step, trainer.max_steps
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        per_s = (step - self.first) / elapsed
        done = step / total if total > 0 else 0.0
        bar = "#" * int(done * BAR) + "." * (BAR - int(done * BAR))
        left = f"{clock((total - step) / per_s)} left" if per_s > 0 and total > 0 else ""
        line = (f"[{bar}] step {step}/{total}  loss {sum(self.losses) / len(self.losses):.4f}  "
                f"{per_s * self.batch_size * trainer.world_size:.1f} examples/s  {clock(elapsed)} in, {left}")
        self.line.show(line, log=step % self.log_every == 0 or step == total)

    def on_train_end(self, trainer, module) -> None:
        if trainer.is_global_zero:
            self.line.close()
