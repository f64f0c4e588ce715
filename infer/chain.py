"""The restore chain: conform to 48 kHz, run the networks in the order given, write or deliver.

Files stream through ``infer/runner.py`` in bounded memory; arrays through ``infer/stream.py``
directly. Audio is ``[C, T]`` float32; every channel is one lane of the stream.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf
import soxr
import torch

from dxkit.deliver.audio import check_output_path, scratch_file
from dxkit.deliver.delivery import DeliveryResult

from .devices import default_precision, resolve_device
from .runner import RATE, Outcome, Runner, load_chain
from .settings import DEFAULT_CHAIN, Job, Settings, parse_chain, resolve_strength
from .stream import Stream, run_whole

def conform(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """``[C, T]`` at any rate -> ``[C, round(T * 48000 / sample_rate)]`` at 48 kHz."""
    if sample_rate == RATE:
        return np.ascontiguousarray(audio, dtype=np.float32)
    out = soxr.resample(audio.T, sample_rate, RATE, quality="VHQ").T
    return np.ascontiguousarray(out, dtype=np.float32)


def run_chain(audio: np.ndarray, sample_rate: int, chain: list[str],
              strength: dict[str, float] | None = None,
              nets: list[torch.nn.Module] | None = None, device: str = "cpu",
              precision: str | None = None) -> np.ndarray:
    """Restore ``audio`` (``[C, T]`` float32 at ``sample_rate``) with the networks in ``chain``,
    in order (``nets``, if given, are those networks already loaded); returns ``[C, T']`` float32
    at 48 kHz, aligned with the input and as long. ``strength`` maps a chain entry to its
    attenuation limit in dB. Runs through the streaming engine, so it equals ``restore`` on a
    file."""
    strength = strength or {}
    nets = nets or load_chain(chain)
    where = resolve_device(device)
    stream = Stream(nets, [strength.get(name) for name in chain], where,
                    precision=precision or default_precision(where))
    return run_whole(stream, conform(audio, sample_rate))


@dataclass
class RestoreResult:
    """What ``restore`` did to one file."""

    source: Path
    output: Path
    chain: list[str]
    strength: dict[str, float]
    seconds_audio: float
    seconds_taken: float
    delivery: DeliveryResult | None = field(default=None)


def restore_files(jobs: list[Job], settings: Settings,
                  on_outcome: Callable[[Outcome], None] = lambda outcome: None,
                  on_progress: Callable[[float], None] = lambda seconds: None) -> list[Outcome]:
    """Restore several files with one loading of the networks; returns their outcomes in the
    order they finished (and calls ``on_outcome`` with each as it does, ``on_progress`` with the
    seconds of audio restored so far). A failing file does not stop the others (its
    ``Outcome.error`` says why)."""
    outcomes: list[Outcome] = []

    def keep(outcome: Outcome) -> None:
        outcomes.append(outcome)
        on_outcome(outcome)

    Runner(settings).run(jobs, keep, on_progress)
    return outcomes


def restore_file(source: str | os.PathLike | np.ndarray, output: str | os.PathLike | None = None,
                 chain: list[str] | str = DEFAULT_CHAIN, strength: dict[str, float | None] | None = None,
                 spec: str = "none", *, sample_rate: int | None = None, device: str = "auto",
                 precision: str | None = None, report: str | os.PathLike | None = None,
                 layout: str | None = None, channels: str | None = None, track: str | None = None,
                 highpass_hz: float | None = None, bit_depth: str = "same") -> RestoreResult | np.ndarray:
    """Restore ``source`` with ``chain`` (a list, or ``"deplosive,denoise"``), streamed in bounded
    memory. ``source`` is a path, or an array ``[C, T]`` (or ``[T]``) with its ``sample_rate``.
    ``strength`` maps a network to its attenuation limit in dB, or to None for full strength; the
    shipped denoise and dereverb run at ``DEFAULT_STRENGTH_DB`` (12 dB) unless it says otherwise
    or ``spec`` limits the noise floor (``settings.resolve_strength``).

    With ``spec="none"`` the output is a WAV at the input's rate, level and length, in its bit
    depth (or ``bit_depth``: "16", "24", "float"), with its ``bext`` and iXML; with a spec name
    or file it is restored, then delivered to it (``result.delivery``; ``track`` picks a
    recorder's track, ``highpass_hz`` the dialogue high-pass, 80 Hz by default), and ``report``
    names a folder for its QC report. ``layout`` says what the channels are where the file does
    not (``deliver/layout.py``); ``channels`` which to restore (default: a mix's centre, every
    channel otherwise), the others pass through untouched. An array with no ``output`` comes
    back as a ``[C, T']`` float32 array at 48 kHz. Raises
    AudioInputError or OutputError (nothing is written then), ValueError for bad options."""
    started = time.perf_counter()
    chain = parse_chain(chain) if isinstance(chain, str) else list(chain)
    settings = Settings(chain, resolve_strength(chain, strength, spec), spec, device, precision, reports=report is not None,
                        report_dir=None if report is None else Path(report), layout=layout, channels=channels,
                        track=track, highpass_hz=highpass_hz, bit_depth=bit_depth)
    if isinstance(source, np.ndarray):
        if sample_rate is None:
            raise ValueError("restore(array) needs its sample_rate")
        audio = np.atleast_2d(np.asarray(source, dtype=np.float32))
        if output is None:
            if spec != "none" or report is not None:
                raise ValueError("restore(array) delivers to a spec only into an output file: give output")
            if layout is not None or channels is not None:
                raise ValueError("restore(array) with no output restores every channel: give output to choose")
            return run_chain(audio, sample_rate, chain, settings.strength, device=device, precision=precision)
        output = Path(output)
        check_output_path(None, output)
        with scratch_file(output.parent, output.name + ".input.wav") as tmp:
            sf.write(tmp, audio.T, sample_rate, subtype="FLOAT", format="WAV")
            result = restore_file(tmp, output, chain, strength, spec, device=device, precision=precision,
                                  report=report, layout=layout, channels=channels, track=track,
                                  highpass_hz=highpass_hz, bit_depth=bit_depth)
        result.source = Path("<array>")
        return result
    if output is None:
        raise ValueError("restore(path) needs an output path")
    outcome = restore_files([Job(Path(source), Path(output))], settings)[0]
    if outcome.failure is not None:
        raise outcome.failure
    return RestoreResult(Path(source), Path(output), chain, settings.strength, outcome.seconds_audio,
                         time.perf_counter() - started, outcome.delivery)
