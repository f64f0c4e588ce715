"""Weight files that rebuild their own model: safetensors tensors plus the model's family name
and constructor arguments as JSON in the metadata. Loading runs no code and unpickles nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .activity import ActivityNet
from .bandnet import BandNet
from .names import FAMILY_NAMES, WeightsError, read_metadata
from .silero_vad import SileroVAD

FAMILIES: dict[str, type[torch.nn.Module]] = dict(zip(FAMILY_NAMES, (BandNet, ActivityNet, SileroVAD)))


def save(model: torch.nn.Module, path: str | os.PathLike, family: str, args: dict,
         about: dict | None = None) -> None:
    """Write ``model``'s tensors and ``family``/``args`` (and free-form ``about``) to ``path``,
    atomically (temporary file in the same folder, then rename)."""
    if family not in FAMILIES:
        raise WeightsError(f"unknown model family {family!r}")
    metadata = {"family": family, "args": json.dumps(args, sort_keys=True),
                "about": json.dumps(about or {}, sort_keys=True)}
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        save_file(tensors, str(tmp), metadata=metadata)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load(path: str | os.PathLike) -> torch.nn.Module:
    """Rebuild the model stored in ``path`` (eval mode, on the CPU)."""
    family, args, about = read_metadata(path)
    try:
        if not isinstance(args, dict):
            raise TypeError("arguments are not a mapping")
        model = FAMILIES[family](**args)
        model.load_state_dict(load_file(str(path)))
    except (RuntimeError, TypeError, ValueError, SafetensorError) as exc:
        raise WeightsError(f"{path}: weights do not fit a {family} with {args} ({exc})") from None
    model.family, model.args, model.about = family, args, about
    return model.eval()
