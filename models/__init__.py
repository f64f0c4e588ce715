"""Restoration networks: denoise, dereverb and deplosive, by name or from a weights file.

``load(name_or_path)`` returns a ``torch.nn.Module`` that maps a ``[B, T]`` float32 wave at
48 kHz to the restored wave of the same shape (``model(wave, strength_db=None)``). The names and
files (``names``, ``weights_file``, ``read_metadata``, ``role``) load no torch; ``load`` and ``save``
load it on first use.
"""

from importlib import import_module

from .names import DETECTORS, SHIPPED, WeightsError, names, read_metadata, role, weights_file, weights_path

_LAZY = {"load": "registry", "save": "weights"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DETECTORS", "SHIPPED", "load", "names", "weights_file", "weights_path", "save", "read_metadata", "role", "WeightsError"]
