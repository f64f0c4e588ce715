"""``dxkit eval``: the shipped networks against open baselines, on a fixed, seeded test set.

The test set (``data/evalset``, built by its ``prepare.py``; nothing in it is ever trained on) is
held-out real speech at 48 kHz (``speech/``, 26 clips of 4 s; ``wideband/``, two 48 kHz VCTK
clips), the real noise recordings and measured rooms that the shared data's TEST.txt reserves
(``noise/`` with ``KINDS.txt``, ``rooms/``), degraded with the same synthesis as training but
its own seeds. Two sources of degradation, each in its own rows:

- **real**: denoise at SNR -5, 0, 5, 10 and 20 dB with one real recording per example (14 kinds
  of noise, each clip meeting them in turn); two real noises at once (SNR 5 dB); the whole
  mixture and target band-limited as a 16 kHz recording (SNR 5 dB, set before the band limit,
  so the band-limited input's own SNR is 5 to 7.5 dB); and a real noise low-passed at 3 to
  8 kHz under speech that reaches 11 kHz or more (SNR 5 dB). Dereverb in measured rooms drawn
  at random for each clip (17 of the 20 are drawn); deplosive on pops over speech in a measured
  room with real noise at SNR 5 to 20 dB (the take as the chain's first network meets it); the
  chain with a measured room, pops and real noise at SNR 5 to 20 dB. A recording shorter than a
  clip is looped, with a seam per loop.
- **synthetic**: the conditions the project had before it had real noise, unchanged (the same
  examples, same seeds): denoise at SNR -5 to 20 dB with noise from the training generators
  (new draws), dereverb in 24 new simulated rooms, deplosive (pops at onsets), and the chain.

Targets: denoise, the speech as it was before the noise (band-limited with the mixture where
the whole recording is); deplosive, the input without its pops; dereverb and chain, the direct
path plus 50 ms, without pops. The
chain's "pop removed" figure counts everything in 20-200 Hz inside the pops that differs from
the target (late reverb and noise too), so it overstates pop removal.

What "held out" means, and its limits: every source file of the test set is listed in
data/evalset/heldout.txt and training leaves those names out. Four LJ Speech clips and one
Thorsten clip come from speakers with other utterances in training; the LibriSpeech, VCTK and
LibriTTS clips are speakers training never heard. The real noises are recordings never heard
in training, but the shared data has edited variants of two of them (other 0 A.D. market and
river loops cut from the same source recordings): heldout.txt now names those too, but the
denoiser of issue 11 was trained with them. Kinds like the others (other fridges, crowds) are
in training; construction and the vacuum cleaner have nothing like them. The rooms are rooms
never heard in training; one (a college house office) has other rooms of its house there.

Metrics per example, averaged per condition: SI-SDR, PESQ-WB, STOI against the target; DNSMOS
(reference-free) of the output; for pops, the 20-200 Hz pop energy removed, how far the low band
inside the pops stays above the target's, and the low-band change outside the pops
(``metrics.pop_reduction_db``). Real single-noise denoise scores are also
averaged per kind of noise over all SNRs.
"""

from __future__ import annotations

import json
import math
import os
import time
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
from scipy.ndimage import binary_dilation

from dxkit.infer.chain import load_chain, run_chain
from dxkit.infer.settings import DEFAULT_STRENGTH_DB

from . import metrics, rooms
from .baselines import BASELINES
from .corpus import RATE, Clip, load_clip, load_folder
from .levels import active_rms
from .mixtures import Example, MixSettings, Mixer

SEED = 2026
SNRS_DB = (-5, 0, 5, 10, 20)
TEST_ROOMS = 24
LEVEL_DBFS = (-30.0, -20.0)
POP_GUARD_S = 0.05  # the pop mask is widened by 50 ms each side (see metrics.pop_reduction_db)
RECORDING_HZ = 8000.0  # the "16 kHz recording" condition's band limit
NOISE_LOWPASS_HZ = (3000.0, 8000.0)  # band-limited noise under speech of 11 kHz or more
WIDE_SPEECH_HZ = 11000.0
SOURCES = ("real", "synthetic")

TASK_BASELINES = {
    "denoise": ["passthrough", "noisereduce", "afftdn", "rnnoise", "deepfilternet3"],
    "dereverb": ["passthrough", "wpe"],
    "deplosive": ["passthrough", "dsp_deplosive"],
    "chain": ["passthrough", "deepfilternet3"],
}
TASK_CHAIN = {"denoise": ["denoise"], "dereverb": ["dereverb"], "deplosive": ["deplosive"],
              "chain": ["deplosive", "denoise", "dereverb"]}


@dataclass
class Condition:
    """A named group of test examples of one task (for example denoise at 0 dB SNR), whether
    its degradation is ``real`` or ``synthetic``, and the kind of noise of each example where
    it is one real recording."""

    task: str
    name: str
    source: str
    examples: list[Example]
    kinds: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class EvalSet:
    """The held-out material: speech clips, wideband clips, real noise by kind, measured rooms."""

    speech: list[Clip]
    wideband: list[Clip]
    noises: dict[str, Clip]
    rooms: list[np.ndarray]


def load_evalset(folder: str | os.PathLike, limit: int | None = None) -> EvalSet:
    """Read ``folder`` (``data/evalset``); ``limit`` keeps the first N clips of each speech
    folder. The files of one kind of noise (eight footsteps) are joined into one clip."""
    folder = Path(folder)
    for sub in ("speech", "wideband", "noise/KINDS.txt", "rooms"):
        if not (folder / sub).exists():
            raise FileNotFoundError(f"{folder}: no {sub} (a test set folder holds speech/, wideband/, "
                                    "noise/KINDS.txt and rooms/; see data/evalset/prepare.py)")
    speech = load_folder([folder / "speech"])[:limit]
    wideband = load_folder([folder / "wideband"])[:limit]
    kinds: dict[str, list[np.ndarray]] = {}
    for line in (folder / "noise" / "KINDS.txt").read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            name, kind = line.split("\t")
            clip = load_clip(folder / "noise" / name, min_seconds=0.0)
            kinds.setdefault(kind, []).append(clip.audio)
    noises = {kind: Clip(kind, np.concatenate(parts), RATE / 2) for kind, parts in kinds.items()}
    measured = rooms.measured([folder / "rooms"])
    if not (speech and wideband and noises and measured):
        raise FileNotFoundError(f"{folder}: needs speech/, wideband/, noise/KINDS.txt and rooms/ with audio")
    return EvalSet(speech, wideband, noises, measured)


def pair(a: Clip, b: Clip) -> Clip:
    """Two noises at once: ``b`` (looped or cut to ``a``'s length) 3 dB under ``a``, by active
    RMS (``levels.active_rms``)."""
    other = np.resize(b.audio, len(a.audio))
    mix = a.audio / active_rms(a.audio) + other / active_rms(other) * 10 ** (-3 / 20)
    return Clip(f"{a.name} + {b.name}", mix.astype(np.float32), RATE / 2)


def _examples(task: str, key: str, clips: list[Clip], settings: MixSettings, seed: int,
              rirs: list[np.ndarray], noise_for: Callable[[int], Clip | None] = lambda k: None
              ) -> list[Example]:
    """One example per clip, each from a generator seeded by ``seed``, ``key`` and the clip's
    index, so a condition's draws do not depend on what else runs."""
    condition_id = zlib.crc32(key.encode())
    examples = []
    for k, clip in enumerate(clips):
        noise = noise_for(k)
        mixer = Mixer(task, clips, rirs, [noise] if noise else None, settings)
        rng = np.random.default_rng([seed, condition_id, k])
        examples.append(mixer.example(rng, len(clip.audio), clip))
    return examples


def build_testset(evalset: str | os.PathLike | EvalSet, tasks: list[str], limit: int | None = None,
                  seed: int = SEED, sources: tuple[str, ...] = SOURCES) -> list[Condition]:
    """The fixed test set: every clip of ``evalset`` (a folder, of which the first ``limit``
    clips are taken; or an ``EvalSet`` already loaded, taken whole) in each condition of each
    task whose source is in ``sources``, in a fixed order."""
    held = evalset if isinstance(evalset, EvalSet) else load_evalset(evalset, limit)
    clips = held.speech
    # Always made, even when no chosen task needs them, as the examples were first drawn
    test_rooms = rooms.bank(TEST_ROOMS, (0.2, 1.3), seed)
    base = MixSettings(level_dbfs=LEVEL_DBFS, p_eq=0.0, p_clip=0.0, p_reverb=0.0, pops=(2, 4))
    real = replace(base, p_user_noise=1.0)
    kinds = sorted(held.noises)
    kind_of = lambda k, shift=0: kinds[(k + shift) % len(kinds)]  # noqa: E731 (each clip meets every kind in turn)
    wide = held.wideband + [c for c in clips if c.bandwidth_hz >= WIDE_SPEECH_HZ]
    conditions = []

    def add(task, name, source, examples, named_kinds=()):
        conditions.append(Condition(task, name, source, examples, list(named_kinds)))

    for task in tasks:
        if task == "denoise":
            if "real" in sources:
                for i, snr in enumerate(SNRS_DB):
                    settings = replace(real, snr_db=(snr, snr))
                    add(task, f"real snr {snr:+d} dB", "real",
                        _examples(task, f"real/{snr}", clips, settings, seed, test_rooms,
                                  lambda k: held.noises[kind_of(k, 3 * i)]),
                        [kind_of(k, 3 * i) for k in range(len(clips))])
                at5 = replace(real, snr_db=(5.0, 5.0))
                add(task, "real 2 noises snr +5 dB", "real",
                    _examples(task, "real/two", clips, at5, seed, test_rooms,
                              lambda k: pair(held.noises[kind_of(k, 1)], held.noises[kind_of(k, 8)])))
                add(task, "real 16 kHz recording snr +5 dB", "real",
                    _examples(task, "real/recording", clips,
                              replace(at5, p_band_limit=1.0, band_limits_hz=(RECORDING_HZ,)), seed,
                              test_rooms, lambda k: held.noises[kind_of(k, 5)]))
                add(task, "real low-passed noise, wide speech snr +5 dB", "real",
                    _examples(task, "real/lowpassed-noise", wide,
                              replace(at5, p_noise_band_limit=1.0, noise_band_limit_hz=NOISE_LOWPASS_HZ),
                              seed, test_rooms, lambda k: held.noises[kind_of(k, 2)]))
            if "synthetic" in sources:
                for snr in SNRS_DB:
                    name = f"snr {snr:+d} dB"
                    add(task, f"synthetic {name}", "synthetic",
                        _examples(task, f"{task}/{name}", clips, replace(base, snr_db=(snr, snr)),
                                  seed, test_rooms))
        elif task == "dereverb":
            if "real" in sources:
                add(task, "measured rooms", "real",
                    _examples(task, "real/rooms", clips, base, seed, held.rooms))
            if "synthetic" in sources:
                add(task, "simulated rooms", "synthetic",
                    _examples(task, f"{task}/rooms", clips, base, seed, test_rooms))
        elif task == "deplosive":
            if "real" in sources:  # the take as the chain's first network meets it
                add(task, "real pops in measured room+noise", "real",
                    _examples(task, "real/pops", clips,
                              replace(base, p_reverb=1.0, p_noisy_pops=1.0, p_user_noise=1.0, snr_db=(5.0, 20.0)),
                              seed, held.rooms, lambda k: held.noises[kind_of(k, 7)]))
            if "synthetic" in sources:
                add(task, "pops", "synthetic", _examples(task, f"{task}/pops", clips, base, seed, test_rooms))
        else:
            settings = replace(base, snr_db=(5.0, 20.0))
            if "real" in sources:
                add(task, "real pops+measured room+noise", "real",
                    _examples(task, "real/chain", clips, replace(settings, p_user_noise=1.0), seed,
                              held.rooms, lambda k: held.noises[kind_of(k, 11)]))
            if "synthetic" in sources:
                add(task, "synthetic pops+room+noise", "synthetic",
                    _examples(task, f"{task}/pops+room+noise", clips, settings, seed, test_rooms))
    return conditions


def _score(example: Example, output: np.ndarray) -> dict[str, float]:
    scores = {"si_sdr": metrics.si_sdr(example.target, output),
              "pesq": metrics.pesq_wb(example.target, output, RATE),
              "stoi": metrics.stoi(example.target, output, RATE)}
    peak = float(np.max(np.abs(output)))
    scores.update({f"dnsmos_{k}": v for k, v in
                   metrics.dnsmos(output / max(peak, 1.0), RATE).items()})
    if example.pop_mask is not None and example.pop_mask.any():
        guard = int(POP_GUARD_S * RATE)
        mask = binary_dilation(example.pop_mask, iterations=guard)
        scores.update(metrics.pop_reduction_db(example.target, example.noisy, output, RATE, mask))
    return scores


def _mean(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return float(np.mean(finite)) if finite else math.nan


def systems_for(task: str, baselines: list[str] | None,
                networks: dict[str, str]) -> dict[str, Callable[[np.ndarray], np.ndarray]]:
    """The processors compared on ``task``: baselines, then dxkit's network(s) for it."""
    chosen = [b for b in TASK_BASELINES[task] if baselines is None or b in baselines]
    systems: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        b: (lambda x, fn=BASELINES[b]: fn(x, RATE)) for b in chosen}
    chain = [networks.get(step, step) for step in TASK_CHAIN[task]]
    nets = load_chain(chain)
    label = "dxkit " + "+".join(TASK_CHAIN[task])
    systems[label] = lambda x: run_chain(x[None, :], RATE, chain, nets=nets)[0]
    # and as ``dxkit restore`` runs them by default, with room tone kept
    limits = {entry: DEFAULT_STRENGTH_DB[step] for step, entry in zip(TASK_CHAIN[task], chain)
              if step in DEFAULT_STRENGTH_DB}
    if limits:
        systems[f"{label} (default limits)"] = lambda x: run_chain(x[None, :], RATE, chain, limits, nets=nets)[0]
    return systems


def evaluate(evalset: str | os.PathLike, tasks: list[str], baselines: list[str] | None = None,
             networks: dict[str, str] | None = None, limit: int | None = None,
             progress: Callable[[str], None] = lambda line: None,
             sources: tuple[str, ...] = SOURCES) -> dict:
    """Run every system on every condition; returns ``{"conditions": [...], "by_kind": {...}}``
    with the mean of each metric per system, the number of examples, and ``rtf``: processing time
    over audio time (whatever threads the tool uses; the networks' one-thread figure is the
    benchmark's). ``by_kind`` holds, per system, the means over the real single-noise denoise
    conditions for each kind of noise."""
    networks = networks or {}
    results = []
    per_kind: dict[str, dict[str, list[dict[str, float]]]] = {}
    for cond in build_testset(evalset, tasks, limit, sources=sources):
        rows = {}
        for label, process in systems_for(cond.task, baselines, networks).items():
            scores, audio_s, processing_s = [], 0.0, 0.0
            for ex in cond.examples:
                t0 = time.perf_counter()
                out = process(ex.noisy)
                processing_s += time.perf_counter() - t0
                audio_s += len(ex.noisy) / RATE
                scores.append(_score(ex, out))
            for kind, score in zip(cond.kinds, scores):
                per_kind.setdefault(label, {}).setdefault(kind, []).append(score)
            rows[label] = _means(scores)
            rows[label]["rtf"] = processing_s / audio_s
            progress(f"{cond.task:<9} {cond.name:<44} {label:<28} " +
                     " ".join(f"{k} {v:.3f}" for k, v in rows[label].items()))
        results.append({"task": cond.task, "condition": cond.name, "source": cond.source,
                        "examples": len(cond.examples), "systems": rows})
    by_kind = {label: {kind: {**_means(scores), "examples": len(scores)} for kind, scores in sorted(kinds.items())}
               for label, kinds in per_kind.items()}
    return {"seed": SEED, "evalset": str(evalset), "conditions": results, "by_kind": by_kind}


def _means(scores: list[dict[str, float]]) -> dict[str, float]:
    keys = dict.fromkeys(k for s in scores for k in s)
    return {k: _mean([s.get(k, math.nan) for s in scores]) for k in keys}


COLUMNS = [("si_sdr", "SI-SDR dB"), ("pesq", "PESQ-WB"), ("stoi", "STOI"), ("dnsmos_ovrl", "DNSMOS OVRL"),
           ("pop_removed_db", "pop removed dB"), ("pop_above_clean_db", "pop above clean dB"),
           ("outside_change_db", "low band outside dB")]


def markdown(report: dict) -> str:
    """The report as one markdown table per task."""
    out = []
    for task in dict.fromkeys(c["task"] for c in report["conditions"]):
        conds = [c for c in report["conditions"] if c["task"] == task]
        keys = [k for k, _ in COLUMNS if k in next(iter(conds[0]["systems"].values()))]
        head = ["condition", "system"] + [label for k, label in COLUMNS if k in keys]
        out += [f"### {task}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for c in conds:
            for label, row in c["systems"].items():
                cells = [f"{row[k]:.2f}" if math.isfinite(row[k]) else "-" for k in keys]
                out.append(f"| {c['condition']} | {label} | " + " | ".join(cells) + " |")
        out.append("")
    if report.get("by_kind"):
        systems = list(report["by_kind"])
        out += ["### denoise by kind of real noise (all SNRs; SI-SDR dB / PESQ-WB / STOI / DNSMOS OVRL)", "",
                "| noise | " + " | ".join(systems) + " |", "|" + "---|" * (len(systems) + 1)]
        for kind in report["by_kind"][systems[0]]:
            cells = [" / ".join(f"{report['by_kind'][sy][kind][k]:.2f}" for k in ("si_sdr", "pesq", "stoi", "dnsmos_ovrl"))
                     for sy in systems]
            out.append(f"| {kind} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def write_report(report: dict, folder: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``eval.json`` and ``eval.md`` into ``folder``."""
    from dxkit.deliver.audio import write_text_atomic

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    js, md = folder / "eval.json", folder / "eval.md"
    write_text_atomic(js, json.dumps(report, indent=1))
    write_text_atomic(md, markdown(report))
    return js, md
