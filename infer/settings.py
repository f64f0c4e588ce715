"""What to restore and how, without torch: jobs, settings, the chain and its limits.

Everything here is plain data and parsing, so a command can plan its work (and find that there
is none) before torch and the networks are loaded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CHAIN = ("deplosive", "denoise", "dereverb")
# Attenuation limits (dB) the shipped networks run at unless told otherwise. At full strength
# the denoise and dereverb networks close the pauses between lines to digital silence (the
# location example's floor: -41 dB in, -95 dB out, the dither of its 16 bits), and a dialogue
# editor needs room tone to cut against. 12 dB each is the usual amount of a noise reducer's
# reduction (Audacity's noise reduction defaults to 12 dB) and keeps the example's floor 21 dB
# down rather than 53 dB, at the
# same DNSMOS overall score (2.25 against 2.22, README "Room tone"); together they can still take
# up to 24 dB off a steady noise. The deplosive acts on pops only and runs at full strength.
# ``--strength denoise=full`` lifts a limit. A delivery spec with a noise-floor limit (ACX: -60 dB
# after its gain) comes first: there the networks run at full strength unless told otherwise.
DEFAULT_STRENGTH_DB = {"denoise": 12.0, "dereverb": 12.0}
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
    layout: str | None = None  # what the channels are, where the file does not say (deliver/layout.py)
    channels: str | None = None  # the channels to restore (default: a mix's centre, else all)
    track: str | None = None  # with a spec: the recorder's track to deliver (default: its mix track)
    highpass_hz: float | None = None  # with a spec: the dialogue high-pass (None: 80 Hz unless the spec says)
    bit_depth: str = "same"  # --spec none: "same" as the input, "16", "24" or "float"
    fit_ends: bool = True  # with a spec that judges room tone: fit the file's ends (deliver/ends.py)

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


def parse_strength(text: str | None, chain: list[str]) -> dict[str, float | None]:
    """``"denoise=12,dereverb=full"`` -> ``{"denoise": 12.0, "dereverb": None}``: attenuation
    limits in dB for networks in ``chain``, None for full strength (no limit)."""
    limits: dict[str, float | None] = {}
    for item in (text or "").split(","):
        if not item.strip():
            continue
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in chain:
            raise ValueError(f"--strength names {name!r}, which is not in the chain ({', '.join(chain)})")
        if value.strip().lower() == "full":
            limits[name] = None
            continue
        try:
            limits[name] = float(value)
        except ValueError:
            raise ValueError(f"--strength {item!r}: give NAME=DB or NAME=full, e.g. denoise=12") from None
        if not 0 <= limits[name] <= 100:
            raise ValueError(f"--strength {item!r}: the limit is 0 to 100 dB (or full)")
    return limits


def resolve_strength(chain: list[str], chosen: dict[str, float | None] | None = None,
                     spec: str = "none") -> dict[str, float]:
    """The limit each network of ``chain`` runs at: ``DEFAULT_STRENGTH_DB`` for the shipped
    networks named in it and for weights files that are one of them adapted or retrained
    (``models.role``; unless ``spec`` limits the noise floor), then whatever ``chosen`` says
    (a limit in dB, or None: full strength). Networks without a limit are left out."""
    from dxkit.deliver import specs  # no torch
    from dxkit.models import role  # no torch

    floor_limited = spec != "none" and specs.resolve(spec).noise_floor_max_db is not None
    roles = {name: role(name) for name in chain}
    limits = {} if floor_limited else {name: DEFAULT_STRENGTH_DB[r] for name, r in roles.items() if r in DEFAULT_STRENGTH_DB}
    for name, limit in (chosen or {}).items():
        if name not in chain:
            raise ValueError(f"strength names {name!r}, which is not in the chain ({', '.join(chain)})")
        if limit is None:
            limits.pop(name, None)
        else:
            limits[name] = float(limit)
    return limits
