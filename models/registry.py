"""Loading a network by name or file, and the ``debug`` model tests use."""

from __future__ import annotations

import os

import torch

from .bandnet import BandNet
from .names import weights_file
from .weights import load as load_file

DEBUG_ARGS = {"bands": 16, "df_bins": 8, "df_order": 2, "hidden": 8, "layers": 1}


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
    path = weights_file(name_or_path)
    return debug_model() if path is None else load_file(path)
