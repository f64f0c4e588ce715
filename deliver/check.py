"""Check any file against a spec: measure it, then judge every requirement."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from .audio import probe
from .dialogue import with_dialogue
from .requirements import Requirement, evaluate, passed
from .meter import Measurement, measure
from .specs import Spec, resolve

CONTAINER_OF_FORMAT = {"WAV": "wav", "WAVEX": "wav", "RF64": "wav", "FLAC": "flac", "MPEG": "mp3"}


@dataclass(frozen=True)
class CheckResult:
    """A file's verdict against one spec."""

    spec: Spec
    measurement: Measurement
    requirements: list[Requirement]

    @property
    def passed(self) -> bool:
        return passed(self.requirements)

    def to_json(self) -> dict:
        return {"spec": self.spec.name, "passed": self.passed,
                "requirements": [r.to_json() for r in self.requirements]}


def check(path: str | os.PathLike, spec: Spec | str, dialogue: np.ndarray | None = None,
          layout: str | None = None, track: str | None = None) -> CheckResult:
    """Measure ``path`` and judge it against ``spec`` (a preset name, a YAML path or a Spec);
    ``dialogue``, where given, is the file's dialogue mask (one value per 10 ms), which a
    dialogue-gated spec and ACX's room tone need (``dxkit.check`` runs the detector for it).
    ``layout`` and ``track`` as for ``measure``: a recorder's tracks are judged one (or one
    pair) at a time, by default its mix track."""
    spec = resolve(spec)
    info = probe(path)
    m = measure(path, overs_above_dbtp=spec.true_peak_max_dbtp, layout=layout, track=track)
    if dialogue is not None:
        m = with_dialogue(m, dialogue)
    container = CONTAINER_OF_FORMAT.get(info.format, info.format.lower())
    return CheckResult(spec, m, evaluate(m, spec, container))
