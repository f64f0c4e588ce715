"""``dxkit eval``: the shipped networks against open baselines, on a fixed, seeded test set.

The test set is built from held-out real speech (``data/evalset/speech``, never used in training)
at 48 kHz, with the same synthesis as training but its own seeds and its own simulated rooms:

- denoise at SNR -5, 0, 5, 10 and 20 dB (noise from the synthetic generators, new draws);
- dereverb: rooms with RT60 0.2 to 1.3 s, target the direct path plus 50 ms;
- deplosive: 2 to 4 pops per clip at onsets, 6 to 20 dB over the local low band; half the clips
  also carry noise at SNR -5 to 30 dB, in input and target alike;
- chain: room, pops at the microphone and noise (SNR 5 to 20 dB) together; target the direct path
  plus 50 ms, without pops. Its "pop removed" figure counts everything in 20-200 Hz inside the
  pops that differs from the target (late reverb and noise too), so it overstates pop removal.

What "held out" means here, and its limits: the clips' source files are listed in
data/evalset/heldout.txt and training leaves them out by name. Four LJ Speech clips and one
Thorsten clip come from speakers with other utterances in training; the LibriSpeech, VCTK p226
and LibriTTS clips are speakers training never heard. The noise is drawn from the same synthetic
generators as in training (new draws) and the rooms from the same simulator (new rooms): our
networks are tested in distribution, the baselines are not. There is no real noise recording here.

Metrics per example, averaged per condition: SI-SDR, PESQ-WB, STOI against the target; DNSMOS
(reference-free) of the output; for pops, the 20-200 Hz pop energy removed and the low-band
change outside the pops (``metrics.pop_reduction_db``).
"""

from __future__ import annotations

import json
import math
import os
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
from scipy.ndimage import binary_dilation

from dxkit.infer.chain import load_chain, run_chain

from . import metrics, rooms
from .baselines import BASELINES
from .corpus import RATE, load_folder
from .mixtures import Example, MixSettings, Mixer

SEED = 2026
SNRS_DB = (-5, 0, 5, 10, 20)
TEST_ROOMS = 24
LEVEL_DBFS = (-30.0, -20.0)
POP_GUARD_S = 0.05  # the pop mask is widened by 50 ms each side (see metrics.pop_reduction_db)

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
    """A named group of test examples of one task (for example denoise at 0 dB SNR)."""

    task: str
    name: str
    examples: list[Example]


def build_testset(speech_dir: str | os.PathLike, tasks: list[str], limit: int | None = None,
                  seed: int = SEED) -> list[Condition]:
    """The fixed test set: every clip under ``speech_dir`` (or the first ``limit``) in each
    condition of each task, drawn from generators seeded by ``seed``, task, condition and clip."""
    clips = load_folder([speech_dir])[:limit]
    # Always made, even when no chosen task needs them: a Mixer with rooms draws one more random
    # number per example, and every condition must be the same whichever tasks run.
    test_rooms = rooms.bank(TEST_ROOMS, (0.2, 1.3), seed)
    plan: list[tuple[str, str, MixSettings]] = []
    for task in tasks:
        base = MixSettings(level_dbfs=LEVEL_DBFS, p_eq=0.0, p_clip=0.0, p_reverb=0.0,
                           pops=(2, 4))
        if task == "denoise":
            plan += [(task, f"snr {snr:+d} dB", MixSettings(**{**base.__dict__, "snr_db": (snr, snr)}))
                     for snr in SNRS_DB]
        elif task == "chain":
            plan.append((task, "pops+room+noise", MixSettings(**{**base.__dict__, "snr_db": (5.0, 20.0)})))
        else:
            plan.append((task, {"dereverb": "rooms", "deplosive": "pops"}[task], base))
    conditions = []
    for task, name, settings in plan:
        mixer = Mixer(task, clips, test_rooms, settings=settings)
        examples = []
        condition_id = zlib.crc32(f"{task}/{name}".encode())  # the same draws whatever else runs
        for k, clip in enumerate(clips):
            rng = np.random.default_rng([seed, condition_id, k])
            examples.append(mixer.example(rng, len(clip.audio), clip))
        conditions.append(Condition(task, name, examples))
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
    return systems


def evaluate(speech_dir: str | os.PathLike, tasks: list[str], baselines: list[str] | None = None,
             networks: dict[str, str] | None = None, limit: int | None = None,
             progress: Callable[[str], None] = lambda line: None) -> dict:
    """Run every system on every condition; returns ``{"conditions": [...]}`` with the mean of
    each metric per system, the number of examples, and ``rtf``: processing time over audio
    time (whatever threads the tool uses; the networks' one-thread figure is the benchmark's)."""
    networks = networks or {}
    results = []
    for cond in build_testset(speech_dir, tasks, limit):
        rows = {}
        for label, process in systems_for(cond.task, baselines, networks).items():
            scores, audio_s, processing_s = [], 0.0, 0.0
            for ex in cond.examples:
                t0 = time.perf_counter()
                out = process(ex.noisy)
                processing_s += time.perf_counter() - t0
                audio_s += len(ex.noisy) / RATE
                scores.append(_score(ex, out))
            keys = dict.fromkeys(k for s in scores for k in s)
            rows[label] = {k: _mean([s.get(k, math.nan) for s in scores]) for k in keys}
            rows[label]["rtf"] = processing_s / audio_s
            progress(f"{cond.task:<9} {cond.name:<16} {label:<28} " +
                     " ".join(f"{k} {v:.3f}" for k, v in rows[label].items()))
        results.append({"task": cond.task, "condition": cond.name, "examples": len(cond.examples),
                        "systems": rows})
    return {"seed": SEED, "speech_dir": str(speech_dir), "conditions": results}


COLUMNS = [("si_sdr", "SI-SDR dB"), ("pesq", "PESQ-WB"), ("stoi", "STOI"), ("dnsmos_ovrl", "DNSMOS OVRL"),
           ("pop_removed_db", "pop removed dB"), ("outside_change_db", "low band outside dB")]


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
