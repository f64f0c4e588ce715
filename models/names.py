"""The networks dxkit ships, by name, and the weights file a name stands for. No torch here, so
a command can tell what it would load (and fingerprint it) without loading it."""

from __future__ import annotations

import json
import os
from pathlib import Path

from safetensors import SafetensorError, safe_open

WEIGHTS_DIR = Path(__file__).parent / "weights"
SHIPPED = ("denoise", "dereverb", "deplosive")  # the restoration networks
DETECTORS = ("activity", "silero_vad")  # the dialogue detector: both networks (infer/detect.py)
DEBUG = "debug"  # a tiny untrained network built in code, for tests (registry.debug_model)
FAMILY_NAMES = ("bandnet", "activity", "silero_vad")  # the architectures a weights file may name (weights.FAMILIES)


class WeightsError(ValueError):
    """A weights file that is missing, unreadable or not a dxkit model."""


def names() -> list[str]:
    """Names ``load`` accepts: the shipped networks, the detector's two and ``debug``."""
    return [*SHIPPED, *DETECTORS, DEBUG]


def weights_path(name: str) -> Path:
    return WEIGHTS_DIR / f"{name}.safetensors"


def weights_file(name_or_path: str | os.PathLike) -> Path | None:
    """The file ``load(name_or_path)`` reads; None for ``debug``. Raises WeightsError for an
    unknown name or a file that is not there."""
    key = str(name_or_path)
    if key == DEBUG:
        return None
    if key in SHIPPED or key in DETECTORS:
        path = weights_path(key)
        if not path.is_file():
            raise WeightsError(f"the {key} network's weights are missing from this install ({path})")
        return path
    if key.endswith(".safetensors") or os.sep in key:
        if not Path(key).is_file():
            raise WeightsError(f"{key}: no such weights file")
        return Path(key)
    raise WeightsError(f"unknown network {key!r}: use one of {', '.join(names())} "
                       "or a path to a .safetensors file")


def read_metadata(path: str | os.PathLike) -> tuple[str, dict, dict]:
    """The ``(family, args, about)`` stored in a weights file (read without torch)."""
    try:
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
        family, args = meta["family"], json.loads(meta["args"])
        about = json.loads(meta.get("about", "{}"))
    except FileNotFoundError:
        raise WeightsError(f"{path}: no such weights file") from None
    except (SafetensorError, OSError, KeyError, json.JSONDecodeError) as exc:
        raise WeightsError(f"{path}: not a dxkit weights file ({exc})") from None
    if family not in FAMILY_NAMES:
        raise WeightsError(f"{path}: unknown model family {family!r}")
    return family, args, about


def role(name_or_path: str | os.PathLike) -> str:
    """What a chain entry does: a shipped name is itself; a weights file is the shipped network
    it was trained or adapted as (its ``about["name"]``: ``dxkit learn`` and ``dxkit train``
    record it), or its own file name when it says none."""
    key = str(name_or_path)
    if key in SHIPPED or key == DEBUG:
        return key
    path = weights_file(key)
    name = read_metadata(path)[2].get("name")
    return name if name in SHIPPED else path.name
