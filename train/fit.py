"""``fit(cfg)``: train one network from a composed config and write its weights file."""

from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

import lightning as L
import torch
from omegaconf import DictConfig, OmegaConf

from dxkit import models
from dxkit.models.weights import FAMILIES

from .datamodule import ActivityData, MixtureData
from .progress import TrainProgress
from .system import ActivitySystem, RestorationSystem


def build_model(cfg: DictConfig) -> tuple[torch.nn.Module, str, dict]:
    """The network to train: a shipped or saved one if ``init_from`` is set (its own
    architecture wins), else a new one from ``cfg.model``. ``cfg.lookahead``, when set, gives
    either one that many frames of look-ahead (it adds no weights, so a network trained
    without can start from its own)."""
    if cfg.init_from:
        model = models.load(cfg.init_from)
        family, args, state = model.family, dict(model.args), model.state_dict()
    else:
        family, args, state = cfg.model.family, OmegaConf.to_container(cfg.model.args, resolve=True), None
    if cfg.lookahead is not None:
        args["lookahead"] = int(cfg.lookahead)
    model = FAMILIES[family](**args)
    if state is not None:
        model.load_state_dict(state)
    return model.train(), family, args


class Export(L.Callback):
    """Writes the weights file every ``every`` steps and at the end (global rank 0 only), so a
    long run can be stopped at any time and resumed from it (``init_from``). With ``keep``,
    each of those is also kept as ``NAME.stepN.safetensors``, to choose among afterwards."""

    def __init__(self, path: Path, family: str, args: dict, about: dict, every: int, keep: bool = False) -> None:
        self.path, self.family, self.args, self.about, self.every = path, family, args, about, every
        self.keep = keep

    def write(self, trainer: L.Trainer, module: RestorationSystem, keep: bool = False) -> None:
        if trainer.is_global_zero:
            about = {**self.about, "steps": trainer.global_step}
            models.save(module.model, self.path, self.family, self.args, about)
            if keep:
                step = self.path.with_suffix(f".step{trainer.global_step}{self.path.suffix}")
                models.save(module.model, step, self.family, self.args, about)

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx) -> None:
        if self.every and trainer.global_step % self.every == 0:
            self.write(trainer, module, self.keep)

    def on_train_end(self, trainer, module) -> None:
        self.write(trainer, module)


def _no_tips(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("💡")


def quiet_lightning() -> None:
    """No third-party advertising or deprecation noise in the user's output: Lightning's tip to
    install its cloud logger, and a FutureWarning it triggers in torch's pytree on every run.
    Idempotent (the same filter object is added once), so repeated fits do not pile them up."""
    logging.getLogger("lightning.pytorch.utilities.rank_zero").addFilter(_no_tips)
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated",
                            category=FutureWarning)


def fit(cfg: DictConfig) -> Path:
    """Train per ``cfg`` (the composed ``configs/train.yaml``) and return the weights path."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    model, family, args = build_model(cfg)
    optim = dict(lr=cfg.optim.lr, weight_decay=cfg.optim.weight_decay, warmup_steps=cfg.optim.warmup_steps,
                 max_steps=cfg.trainer.max_steps)
    detector = cfg.data.task == "activity"
    system = ActivitySystem(model, **optim) if detector else \
        RestorationSystem(model, si_sdr_weight=cfg.loss.si_sdr_weight, **optim)
    output = Path(cfg.output).expanduser().resolve()
    output.parent.mkdir(parents=True, exist_ok=True)
    about = {"name": cfg.data.task, "init_from": cfg.init_from or "",
             "command": " ".join(sys.argv), "config": OmegaConf.to_yaml(cfg, resolve=True)}
    export = Export(output, family, args, about, cfg.export_every, cfg.keep_exports)
    progress = TrainProgress(cfg.data.batch_size, cfg.log_every)
    quiet_lightning()
    trainer = L.Trainer(**OmegaConf.to_container(cfg.trainer, resolve=True), callbacks=[export, progress])
    data = ActivityData(cfg.data, cfg.seed) if detector else MixtureData(cfg.data, cfg.seed)
    trainer.fit(system, datamodule=data)
    return output
