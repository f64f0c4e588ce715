"""What to restore and how, without torch: jobs, settings, the chain and its limits.

Everything here is plain data and parsing, so a command can plan its work (and find that there
is none) before torch and the networks are loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CHAIN = ("deplosive", "denoise", "dereverb")
CHUNK_FRAMES = 100  # 1 s of 10 ms frames per network call (infer/stream.py)


@dataclass(frozen=True)
class Job:
    """Restore ``source`` into ``output``."""

    source: Path
    output: Path


@dataclass
class Settings:
    """How to restore: the chain and its limits, the delivery spec, where the networks run."""

    chain: list[str]
    strength: dict[str, float] = field(default_factory=dict)
    spec: str = "none"
    device: str = "auto"
    precision: str | None = None  # None: bf16 on a CUDA GPU that has it, else fp32
    lanes: int = 16  # channels computed side by side in one device batch
    chunk_frames: int = CHUNK_FRAMES
    reports: bool = False  # with a spec: write each file's QC report (.qc.json, .qc.html) ...
    report_dir: Path | None = None  # ... into this folder (None: beside the file)

    def check_device(self) -> None:
        """Raise ValueError, in one line, if this machine lacks the device or it cannot run the
        precision asked for. Loads torch."""
        from .devices import resolve_device

        device = resolve_device(self.device)
        if self.precision in ("bf16", "fp16") and device.type != "cuda":
            raise ValueError(f"--precision {self.precision} needs a CUDA device; the networks run on {device}")


def parse_chain(text: str) -> list[str]:
    """``"deplosive,denoise"`` -> ``["deplosive", "denoise"]``; names or .safetensors paths."""
    steps = [s.strip() for s in text.split(",") if s.strip()]
    if not steps:
        raise ValueError("the chain is empty: give network names, e.g. --chain denoise")
    if len(set(steps)) != len(steps):
        raise ValueError(f"a network appears twice in the chain {text!r}")
    return steps


def parse_strength(text: str | None, chain: list[str]) -> dict[str, float]:
    """``"denoise=12,dereverb=6"`` -> attenuation limits in dB for networks in ``chain``."""
    limits: dict[str, float] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in chain:
            raise ValueError(f"--strength names {name!r}, which is not in the chain ({', '.join(chain)})")
        try:
            limits[name] = float(value)
        except ValueError:
            raise ValueError(f"--strength {item!r}: give NAME=DB, e.g. denoise=12") from None
        if not 0 <= limits[name] <= 100:
            raise ValueError(f"--strength {item!r}: the limit is 0 to 100 dB")
    return limits
