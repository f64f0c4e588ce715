"""Requirements: a measurement judged against every limit of a spec, each with pass or fail."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .meter import Measurement
from .specs import Spec

NO_INTEGRATED = "no integrated loudness: shorter than 400 ms or entirely below the -70 LUFS gate"


@dataclass(frozen=True)
class Requirement:
    """One line of a QC sheet."""

    name: str
    measured: float | int | str | None
    limit: str
    passed: bool
    reason: str = ""

    def to_json(self) -> dict:
        return asdict(self)


def _rounded(value: float | None) -> float | None:
    # Judged at the 0.01 dB the report shows, so a printed value and its verdict always agree.
    return None if value is None else round(value, 2)


# Why a value can be missing, and why a limit can fail, said where the verdict is given.
MISSING_REASONS = {
    "max_short_term_lufs": "no short-term loudness: the file is shorter than 3 s",
    "max_momentary_lufs": "no momentary loudness: the file is shorter than 400 ms",
}
FAIL_REASONS = {
    "true_peak_dbtp": "true peak over the ceiling",
    "sample_peak_dbfs": "sample peak over the ceiling",
    "max_short_term_lufs": "short-term loudness peaks too loud for the target: the dynamics need "
                           "levelling or compression (deliver --leveler)",
    "max_momentary_lufs": "momentary loudness peaks too loud for the target: the dynamics need "
                          "levelling or compression (deliver --leveler)",
    "lra_lu": "loudness range too wide: level the programme (deliver --leveler)",
    "noise_floor_db": "the quietest 500 ms is too noisy: denoise (dxkit restore) before delivery",
    "duration_s": "file too long for this destination: split it",
}


def _at_most(name: str, value: float | None, limit: float, unit: str) -> Requirement:
    shown = _rounded(value)
    if shown is None:
        return Requirement(name, None, f"<= {limit:g} {unit}", False, MISSING_REASONS.get(name, "no value measured"))
    if math.isinf(shown) and shown < 0:
        return Requirement(name, None, f"<= {limit:g} {unit}", True, "digital silence")
    ok = shown <= limit
    return Requirement(name, shown, f"<= {limit:g} {unit}", ok, "" if ok else FAIL_REASONS.get(name, ""))


def evaluate(m: Measurement, spec: Spec, container: str | None = None) -> list[Requirement]:
    """Every requirement of ``spec`` judged on ``m``; ``container`` is the file's format, if any."""
    reqs: list[Requirement] = []
    if spec.measure == "integrated":
        value = _rounded(m.integrated_lufs)
        limit = f"{spec.low:g} to {spec.high:g} LUFS"
        if value is None:
            reqs.append(Requirement("integrated_lufs", None, limit, False, NO_INTEGRATED))
        else:
            ok = spec.low <= value <= spec.high
            reqs.append(Requirement("integrated_lufs", value, limit, ok, "" if ok else "loudness off target"))
    else:
        value = _rounded(m.rms_db)
        limit = f"{spec.low:g} to {spec.high:g} dB"
        if value is None or math.isinf(value):
            reqs.append(Requirement("rms_db", None, limit, False, "digital silence"))
        else:
            ok = spec.low <= value <= spec.high
            reqs.append(Requirement("rms_db", value, limit, ok, "" if ok else "level off target"))

    tp_limit = spec.true_peak_max_dbtp
    if (spec.louder_above_lufs is not None and m.integrated_lufs is not None
            and _rounded(m.integrated_lufs) > spec.louder_above_lufs):
        tp_limit = spec.louder_true_peak_max_dbtp
    reqs.append(_at_most("true_peak_dbtp", m.true_peak_dbtp, tp_limit, "dBTP"))
    if spec.sample_peak_max_dbfs is not None:
        reqs.append(_at_most("sample_peak_dbfs", m.sample_peak_dbfs, spec.sample_peak_max_dbfs, "dBFS"))
    if spec.max_short_term_lufs is not None:
        reqs.append(_at_most("max_short_term_lufs", m.max_short_term_lufs, spec.max_short_term_lufs, "LUFS"))
    if spec.max_momentary_lufs is not None:
        reqs.append(_at_most("max_momentary_lufs", m.max_momentary_lufs, spec.max_momentary_lufs, "LUFS"))
    if spec.lra_max_lu is not None:
        if m.lra_lu is None:
            reqs.append(Requirement("lra_lu", None, f"<= {spec.lra_max_lu:g} LU", True,
                                    "no loudness range: under 3 s of gated programme"))
        else:
            reqs.append(_at_most("lra_lu", m.lra_lu, spec.lra_max_lu, "LU"))
    if spec.noise_floor_max_db is not None:
        reqs.append(_at_most("noise_floor_db", m.noise_floor_db, spec.noise_floor_max_db, "dB"))
    if spec.duration_max_s is not None:
        reqs.append(_at_most("duration_s", m.duration_s, spec.duration_max_s, "s"))
    rates = ", ".join(str(r) for r in spec.output.accepted_sample_rates)
    reqs.append(Requirement("sample_rate", m.sample_rate, f"one of {rates} Hz",
                            m.sample_rate in spec.output.accepted_sample_rates))
    if container is not None:
        reqs.append(Requirement("container", container, spec.output.container,
                                container == spec.output.container))
    return reqs


def passed(requirements: list[Requirement]) -> bool:
    """True when every requirement passed."""
    return all(r.passed for r in requirements)
