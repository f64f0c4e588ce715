"""Requirements: a measurement judged against every limit of a spec, each with pass or fail."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from .dialogue import DIGITAL_SILENCE_DB, HEAD_TONE_S, TAIL_TONE_S
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


def _in_range(name: str, value: float | None, low: float, high: float, missing: str, note: str = "") -> Requirement:
    shown = _rounded(value)
    limit = f"{low:g} to {high:g} LUFS{note}"
    if shown is None:
        return Requirement(name, None, limit, False, missing)
    ok = low <= shown <= high
    return Requirement(name, shown, limit, ok, "" if ok else "loudness off target")


def _dialogue_loudness(m: Measurement, spec: Spec) -> Requirement:
    """Dialogue-gated loudness, or the full programme's where there is too little dialogue."""
    if m.dialogue_fraction is None:
        return Requirement("dialogue_lufs", None, f"{spec.low:g} to {spec.high:g} LUFS", False,
                           "not measured: needs the dialogue detector (dxkit check and deliver run it)")
    below = spec.fallback_below_fraction
    if below is not None and m.dialogue_fraction < below:
        note = f" (dialogue {100 * m.dialogue_fraction:.0f} % < {100 * below:g} %: full programme)"
        return _in_range("integrated_lufs", m.integrated_lufs, spec.fallback_low, spec.fallback_high,
                         NO_INTEGRATED, note)
    return _in_range("dialogue_lufs", m.dialogue_lufs, spec.low, spec.high, "no dialogue loud enough to gate on")


def _room_tone(m: Measurement) -> list[Requirement]:
    """ACX's room tone at the head and at the tail, judged with the dialogue mask."""
    limits = {"head": HEAD_TONE_S, "tail": TAIL_TONE_S}
    if m.dialogue_fraction is None or m.room_tone is None:
        why = "no dialogue found" if m.dialogue_fraction is not None else \
            "not measured: needs the dialogue detector (dxkit check and deliver run it)"
        return [Requirement(f"{end}_room_tone_s", None, f"{lo:g} to {hi:g} s", False, why)
                for end, (lo, hi) in limits.items()]
    return [Requirement(f"{t.end}_room_tone_s", round(t.seconds, 2),
                        f"{t.shortest_s:g} to {t.longest_s:g} s, above {DIGITAL_SILENCE_DB:g} dB RMS",
                        not t.problem, t.problem) for t in m.room_tone]


def evaluate(m: Measurement, spec: Spec, container: str | None = None) -> list[Requirement]:
    """Every requirement of ``spec`` judged on ``m``; ``container`` is the file's format, if any."""
    reqs: list[Requirement] = []
    if spec.measure == "dialogue":
        reqs.append(_dialogue_loudness(m, spec))
    elif spec.measure == "integrated":
        reqs.append(_in_range("integrated_lufs", m.integrated_lufs, spec.low, spec.high, NO_INTEGRATED))
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
    if spec.room_tone:
        reqs += _room_tone(m)
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
