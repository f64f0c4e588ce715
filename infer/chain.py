"""The restore chain: conform to 48 kHz, run the networks in the order given, write or deliver.

Whole-file processing (the streaming runner comes with the batch/restore engine). Audio is
``[C, T]`` float32; every channel goes through the networks as one row of a batch.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr
import torch

from dxkit import models
from dxkit.deliver.audio import atomic_path, check_output_path, probe, read_blocks, scratch_file
from dxkit.deliver.delivery import DeliveryResult, deliver
from dxkit.deliver.errors import AudioInputError, OutputError

RATE = 48000
DEFAULT_CHAIN = ("deplosive", "denoise", "dereverb")


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


def conform(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``[C, T]`` at any rate -> ``[C, round(T * 48000 / sample_rate)]`` at 48 kHz."""
    if sample_rate == RATE:
        return np.ascontiguousarray(audio, dtype=np.float32)
    out = soxr.resample(audio.T, sample_rate, RATE, quality="VHQ").T
    return np.ascontiguousarray(out, dtype=np.float32)


def load_chain(chain: list[str]) -> list[torch.nn.Module]:
    """The networks of ``chain`` (names or weight files), loaded once."""
    return [models.load(name) for name in chain]


def run_chain(audio: np.ndarray, sample_rate: int, chain: list[str],
              strength: dict[str, float] | None = None,
              nets: list[torch.nn.Module] | None = None) -> np.ndarray:
    """Restore ``audio`` (``[C, T]`` float32 at ``sample_rate``) with the networks in ``chain``,
    in order (``nets``, if given, are those networks already loaded); returns ``[C, T']`` float32
    at 48 kHz, aligned with the input and as long. ``strength`` maps a chain entry to its
    attenuation limit in dB."""
    strength = strength or {}
    nets = nets or load_chain(chain)
    wave = torch.from_numpy(conform(audio, sample_rate))
    with torch.inference_mode():
        for name, net in zip(chain, nets):
            wave = net(wave, strength_db=strength.get(name))
    return wave.numpy()


@dataclass
class RestoreResult:
    """What ``restore_file`` did."""

    source: Path
    output: Path
    chain: list[str]
    strength: dict[str, float]
    seconds_audio: float
    seconds_taken: float
    delivery: DeliveryResult | None = field(default=None)


def read_all(path: Path) -> tuple[np.ndarray, int]:
    info = probe(path)
    return np.concatenate(list(read_blocks(info)), axis=1), info.sample_rate


def restore_file(source: str | os.PathLike, output: str | os.PathLike,
                 chain: list[str] | str = DEFAULT_CHAIN, strength: dict[str, float] | None = None,
                 spec: str = "none") -> RestoreResult:
    """Restore ``source`` into ``output`` with ``chain`` (a list, or ``"deplosive,denoise"``).
    With ``spec="none"``: a 48 kHz 32-bit float WAV at the input's level and length. With a spec
    name or file: restored, then delivered to it (``result.delivery``)."""
    started = time.perf_counter()
    chain = parse_chain(chain) if isinstance(chain, str) else list(chain)
    source, output = Path(source), Path(output)
    check_output_path(source, output)
    if spec == "none" and output.suffix.lower() != ".wav":
        raise OutputError(f"{output}: --spec none writes a 48 kHz float WAV; name the output *.wav")
    audio, rate = read_all(source)
    restored = run_chain(audio, rate, chain, strength)
    if not np.isfinite(restored).all():
        raise AudioInputError(f"{source}: the networks produced NaN or Inf")
    result = RestoreResult(source, output, chain, dict(strength or {}), audio.shape[1] / rate, 0.0)
    if spec == "none":
        with atomic_path(output) as tmp:
            sf.write(tmp, restored.T, RATE, subtype="FLOAT", format="WAV")
    else:
        with scratch_file(output.parent, output.name + ".restored.wav") as tmp:
            sf.write(tmp, restored.T, RATE, subtype="FLOAT", format="WAV")
            try:
                result.delivery = deliver(tmp, output, spec)
            except AudioInputError as exc:  # name the user's file, not our scratch file
                raise AudioInputError(str(exc).replace(str(tmp), f"{source} (restored)")) from None
    result.seconds_taken = time.perf_counter() - started
    return result
