"""Where the networks run: ``auto``, ``cpu``, ``cuda``, ``cuda:N`` or ``mps``, checked up front."""

from __future__ import annotations

import torch


def resolve_device(name: str = "auto") -> torch.device:
    """The torch device for ``name``; ``auto`` picks CUDA, then MPS, then the CPU.

    Raises ValueError, in one line, for a device this machine does not have."""
    name = (name or "auto").strip().lower()
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", 0)
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ValueError(f"--device {name!r}: use auto, cpu, cuda, cuda:N or mps") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"--device {name}: no CUDA GPU is available here (use --device cpu)")
        index = device.index or 0
        if index >= torch.cuda.device_count():
            raise ValueError(f"--device {name}: this machine has {torch.cuda.device_count()} CUDA GPU(s)")
        return torch.device("cuda", index)
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"--device {name}: Apple MPS is not available here (use --device cpu)")
    if device.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"--device {name!r}: use auto, cpu, cuda, cuda:N or mps")
    return device


def default_precision(device: torch.device) -> str:
    """bf16 autocast where the GPU supports it, fp32 everywhere else."""
    if device.type == "cuda" and torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp32"
