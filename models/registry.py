"""The networks dxkit ships, by name, and the ``debug`` model tests use."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from .bandnet import BandNet
from .weights import WeightsError, load as load_file

WEIGHTS_DIR = Path(__file__).parent / "weights"
SHIPPED = ("denoise", "dereverb", "deplosive")
DEBUG_ARGS = {"bands": 16, "df_bins": 8, "df_order": 2, "hidden": 8, "layers": 1}


def names() -> list[str]:
    """Names ``load`` accepts: the shipped networks and ``debug``."""
    return [*SHIPPED, "debug"]


def weights_path(name: str) -> Path:
    return WEIGHTS_DIR / f"{name}.safetensors"


def debug_model() -> torch.nn.Module:
    """A tiny BandNet with fixed random weights (seed 0): fast, deterministic, untrained."""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = BandNet(**DEBUG_ARGS)
        for p in model.df_head.parameters():
            torch.nn.init.normal_(p, std=0.01)
    model.family, model.args, model.about = "bandnet", dict(DEBUG_ARGS), {"name": "debug"}
    return model.eval()


def load(name_or_path: str | os.PathLike) -> torch.nn.Module:
    """A shipped network by name (``denoise``, ``dereverb``, ``deplosive``), ``debug``, or a
    ``.safetensors`` file written by ``dxkit train``. Returns the model in eval mode on the CPU."""
    key = str(name_or_path)
    if key == "debug":
        return debug_model()
    if key in SHIPPED:
        path = weights_path(key)
        if not path.exists():
            raise WeightsError(f"the {key} network's weights are missing from this install ({path})")
        return load_file(path)
    if key.endswith(".safetensors") or os.sep in key:
        return load_file(key)
    raise WeightsError(f"unknown network {key!r}: use one of {', '.join(names())} "
                       "or a path to a .safetensors file")
