"""Delivery spec presets: YAML data, one file per destination, plus a user's own file."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import yaml

from . import lametag
from .errors import SpecError

CONTAINERS = ("wav", "flac", "mp3")
PCM_DEPTHS = (16, 24, 32)  # 32 = 32-bit float


@dataclass(frozen=True)
class Output:
    """The file a spec wants: container, rate, depth (PCM) or bitrate (MP3)."""

    container: str
    sample_rate: int
    accepted_sample_rates: tuple[int, ...]
    bit_depth: int | None = None
    bitrate_kbps: int | None = None
    bwf: bool = False

    @property
    def suffix(self) -> str:
        return "." + self.container


@dataclass(frozen=True)
class Spec:
    """One destination's limits, mixing defaults and output format."""

    name: str
    title: str
    measure: str  # "integrated" (LUFS), "dialogue" (LUFS, dialogue-gated) or "rms" (dB, unweighted)
    target: float
    low: float  # lowest passing loudness
    high: float  # highest passing loudness
    true_peak_max_dbtp: float
    output: Output
    highpass_hz: float | None = None  # a dialogue high-pass this destination asks for (presets: none)
    leveler: bool = False
    sample_peak_max_dbfs: float | None = None
    max_short_term_lufs: float | None = None
    max_momentary_lufs: float | None = None
    lra_max_lu: float | None = None
    noise_floor_max_db: float | None = None
    duration_max_s: float | None = None
    louder_above_lufs: float | None = None  # above this integrated loudness ...
    louder_true_peak_max_dbtp: float | None = None  # ... the true peak limit is this
    # measure "dialogue": below this share of dialogue, judge the full programme's integrated
    # loudness against the fallback range instead (Netflix: 15 %, -24 LKFS +/- 2)
    fallback_below_fraction: float | None = None
    fallback_low: float | None = None
    fallback_high: float | None = None
    room_tone: bool = False  # judge the room tone at the head and the tail (ACX)
    notes: str = ""
    unavailable: str = ""
    source: str = ""

    @property
    def render_ceiling_dbtp(self) -> float:
        """The strictest true-peak (or sample-peak) limit that can apply: what to render to."""
        limits = [self.true_peak_max_dbtp]
        for extra in (self.louder_true_peak_max_dbtp, self.sample_peak_max_dbfs):
            if extra is not None:
                limits.append(extra)
        return min(limits)

    @property
    def needs_dialogue(self) -> bool:
        """Whether judging a file needs to know where its dialogue is."""
        return self.measure == "dialogue" or self.room_tone

    def loudness_text(self) -> str:
        unit = "dB RMS" if self.measure == "rms" else "LUFS"
        if self.measure == "dialogue":
            text = f"{self.low:g} to {self.high:g} {unit} dialogue-gated (aim {self.target:g})"
            if self.fallback_below_fraction is not None:
                text += (f" (under {100 * self.fallback_below_fraction:g} % dialogue: full programme "
                         f"{self.fallback_low:g} to {self.fallback_high:g} {unit})")
            return text
        if self.measure == "integrated":
            return f"{self.target:g} {unit} ±{self.high - self.target:g}"
        return f"{self.low:g} to {self.high:g} {unit} (aim {self.target:g})"


def preset_folder():
    """Where the shipped presets live (a folder inside the installed package)."""
    return resources.files("dxkit.configs") / "specs"


def builtin_names() -> list[str]:
    """Names of the presets shipped with dxkit."""
    return sorted(p.name[:-5] for p in preset_folder().iterdir() if p.name.endswith(".yaml"))


def resolve(spec: "Spec | str | os.PathLike") -> "Spec":
    """A Spec as given, or loaded from a preset name or a YAML path."""
    return spec if isinstance(spec, Spec) else load(spec)


def load(name_or_path: str | os.PathLike, allow_unavailable: bool = False) -> Spec:
    """A preset by name (``ebu-r128``) or a user's YAML file by path; raise SpecError if bad."""
    text, origin = _spec_text(str(name_or_path))
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SpecError(f"{origin}: not valid YAML ({str(exc).splitlines()[0]})") from None
    spec = _from_dict(data, origin)
    if spec.unavailable and not allow_unavailable:
        raise SpecError(f"spec {spec.name} is not available yet: {' '.join(spec.unavailable.split())}")
    return spec


def _spec_text(name_or_path: str) -> tuple[str, str]:
    looks_like_path = name_or_path.endswith((".yaml", ".yml")) or os.sep in name_or_path
    if looks_like_path:
        path = Path(name_or_path)
        try:
            return path.read_text(encoding="utf-8"), str(path)
        except OSError as exc:
            raise SpecError(f"{path}: cannot read spec file ({exc.strerror or exc})") from None
        except UnicodeDecodeError:
            raise SpecError(f"{path}: spec file is not UTF-8 text") from None
    if name_or_path not in builtin_names():
        raise SpecError(f"unknown spec {name_or_path!r}; known: {', '.join(builtin_names())} "
                        "(or give a path to your own .yaml)")
    resource = preset_folder() / f"{name_or_path}.yaml"
    return resource.read_text(encoding="utf-8"), name_or_path


def _number(section: dict, key: str, origin: str, default=None, required=False):
    value = section.get(key, default)
    if value is None:
        if required:
            raise SpecError(f"{origin}: missing required field {key!r}")
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise SpecError(f"{origin}: field {key!r} must be a finite number, got {value!r}")
    return float(value)


def _from_dict(data: object, origin: str) -> Spec:
    if not isinstance(data, dict):
        raise SpecError(f"{origin}: a spec is a YAML mapping")
    loud = data.get("loudness")
    out = data.get("output")
    mix = data.get("mixing") or {}
    if not isinstance(loud, dict) or not isinstance(out, dict) or not isinstance(mix, dict):
        raise SpecError(f"{origin}: needs 'loudness' and 'output' sections (and optional 'mixing')")
    measure = loud.get("measure", "integrated")
    if measure not in ("integrated", "dialogue", "rms"):
        raise SpecError(f"{origin}: loudness.measure must be 'integrated', 'dialogue' or 'rms', got {measure!r}")
    fallback = loud.get("fallback") or {}
    if not isinstance(fallback, dict) or (fallback and set(fallback) != {"below_fraction", "target", "tolerance"}):
        raise SpecError(f"{origin}: loudness.fallback needs below_fraction, target and tolerance")
    if fallback and measure != "dialogue":
        raise SpecError(f"{origin}: loudness.fallback applies to measure: dialogue only")
    below = _number(fallback, "below_fraction", origin, required=bool(fallback))
    if below is not None and not 0 < below < 1:
        raise SpecError(f"{origin}: loudness.fallback.below_fraction must lie between 0 and 1")
    fallback_target = _number(fallback, "target", origin, required=bool(fallback))
    fallback_tolerance = _number(fallback, "tolerance", origin, required=bool(fallback))
    if fallback_tolerance is not None and fallback_tolerance < 0:
        raise SpecError(f"{origin}: loudness.fallback.tolerance must not be negative")
    target = _number(loud, "target", origin, required=True)
    if "range" in loud:
        rng = loud["range"]
        if not (isinstance(rng, list) and len(rng) == 2
                and all(isinstance(v, (int, float)) and math.isfinite(v) for v in rng)):
            raise SpecError(f"{origin}: loudness.range must be [low, high]")
        low, high = float(min(rng)), float(max(rng))
    else:
        tol = _number(loud, "tolerance", origin, required=True)
        low, high = target - tol, target + tol
    if not low <= target <= high:
        raise SpecError(f"{origin}: loudness target {target} lies outside its passing range")
    container = out.get("container")
    if container not in CONTAINERS:
        raise SpecError(f"{origin}: output.container must be one of {', '.join(CONTAINERS)}")
    rate = int(_number(out, "sample_rate", origin, required=True))
    accepted = out.get("accepted_sample_rates", [rate])
    if not (isinstance(accepted, list) and accepted
            and all(isinstance(r, int) and not isinstance(r, bool) for r in accepted)):
        raise SpecError(f"{origin}: output.accepted_sample_rates must be a list of rates in Hz")
    accepted = tuple(accepted)
    for r in (rate, *accepted):
        if not 8000 <= r <= 192000:
            raise SpecError(f"{origin}: sample rate {r} Hz is outside 8000-192000 Hz")
    if rate not in accepted:
        raise SpecError(f"{origin}: output.sample_rate {rate} is not among accepted_sample_rates")
    depth = out.get("bit_depth")
    bitrate = out.get("bitrate_kbps")
    if container == "mp3":
        if bitrate not in lametag.BITRATE_INDEX:
            raise SpecError(f"{origin}: mp3 output needs bitrate_kbps, an MPEG-1 layer III rate")
        if rate not in lametag.RATE_INDEX:
            raise SpecError(f"{origin}: mp3 output at {bitrate} kbps needs 32, 44.1 or 48 kHz")
    elif depth not in PCM_DEPTHS:
        raise SpecError(f"{origin}: {container} output needs bit_depth 16, 24 or 32 (float)")
    if container == "flac" and depth == 32:
        raise SpecError(f"{origin}: FLAC holds integer PCM only; use bit_depth 16 or 24")
    louder = data.get("true_peak_max_if_louder") or {}
    if not isinstance(louder, dict) or (louder and set(louder) != {"above_lufs", "max_dbtp"}):
        raise SpecError(f"{origin}: true_peak_max_if_louder needs above_lufs and max_dbtp")
    for section, key in ((mix, "leveler"), (out, "bwf"), (data, "room_tone")):
        if not isinstance(section.get(key, False), bool):
            raise SpecError(f"{origin}: field {key!r} must be true or false")
    name = str(data.get("name") or Path(origin).stem)
    return Spec(
        name=name,
        title=str(data.get("title", name)),
        measure=measure,
        target=target,
        low=low,
        high=high,
        true_peak_max_dbtp=_number(data, "true_peak_max_dbtp", origin, required=True),
        output=Output(container, rate, accepted, int(depth) if depth else None,
                      int(bitrate) if bitrate else None, bool(out.get("bwf", False))),
        highpass_hz=_number(mix, "highpass_hz", origin),
        leveler=bool(mix.get("leveler", False)),
        sample_peak_max_dbfs=_number(data, "sample_peak_max_dbfs", origin),
        max_short_term_lufs=_number(data, "max_short_term_lufs", origin),
        max_momentary_lufs=_number(data, "max_momentary_lufs", origin),
        lra_max_lu=_number(data, "lra_max_lu", origin),
        noise_floor_max_db=_number(data, "noise_floor_max_db", origin),
        duration_max_s=_number(data, "duration_max_s", origin),
        fallback_below_fraction=below,
        fallback_low=None if below is None else fallback_target - fallback_tolerance,
        fallback_high=None if below is None else fallback_target + fallback_tolerance,
        room_tone=bool(data.get("room_tone", False)),
        louder_above_lufs=_number(louder, "above_lufs", origin),
        louder_true_peak_max_dbtp=_number(louder, "max_dbtp", origin),
        notes=" ".join(str(data.get("notes", "")).split()),
        unavailable=" ".join(str(data.get("unavailable", "")).split()),
        source=origin,
    )
