"""Restoration networks: denoise, dereverb and deplosive, by name or from a weights file.

``load(name_or_path)`` returns a ``torch.nn.Module`` that maps a ``[B, T]`` float32 wave at
48 kHz to the restored wave of the same shape (``model(wave, strength_db=None)``).
"""

from .registry import SHIPPED, load, names, weights_path
from .weights import WeightsError, read_metadata, save

__all__ = ["SHIPPED", "load", "names", "weights_path", "save", "read_metadata", "WeightsError"]
