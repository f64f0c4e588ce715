"""``dxkit learn``: adapt the shipped denoiser to one scene's own noise, within a time budget.

The recipe (``adapt``): the scene's noise (``scene_noise.py``) is split in time, the last part
kept aside for the check; the rest is mixed under the clean speech shipped in the package
(``train/speech``, 2.9 min, 24 speakers, none of the test set's) as the denoiser
was trained (``mixtures.Mixer``: random level, EQ, SNR ``SNR_DB``, a pause in ``P_PAUSE`` of
the examples), and the whole network is fine-tuned on those mixtures with the shipped
denoiser's own loss (``losses.SpectralLoss`` with its SI-SDR term) until the budget is nearly
spent. It starts from the shipped weights, so a few hundred steps are
enough to move it towards one noise (the denoiser's own recipe for user noise,
``experiment=custom_noise``, runs 2000 steps).

The check (what makes it safe): before and after, the base and the adapted network restore the
same check examples, speech it never trained on (``CHECK_SPEECH``) over the noise it never
trained on (the kept-aside part) at ``CHECK_SNR_DB``, and the same speech with no noise at
all. The adapted network is kept only if its mean SI-SDR is higher by more than the check can
tell from chance (``significant_gain``: two standard errors of the example-by-example gains, a
rule of thumb), it is not worse by more than ``CHECK_TOLERANCE_DB`` at any SNR, and it does not
change the clean speech by more than that beyond what the base does; otherwise the base is
written, and the result says why. The check judges SI-SDR, and it cannot know whether the noise under the lines is the noise between them: on the
benchmark (``make bench-learn``, README) a take whose pauses hold a 0.3 s loop of a vacuum
cleaner and whose lines hold another part of it passed the check (PESQ-WB rose on the check
examples too) while PESQ-WB over the take fell by 0.22 to 0.25.

Everything random comes from ``seed``; what depends on the clock is only how many steps fit in
the budget (``max_steps`` fixes that, for tests).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from dxkit import models
from dxkit.deliver.audio import probe
from dxkit.deliver.errors import OutputError
from dxkit.infer.batch import file_sha256
from dxkit.infer.devices import resolve_device
from dxkit.models.weights import save

from .corpus import Clip, load_folder
from .levels import active_rms
from .losses import SpectralLoss
from .mixtures import Mixer, MixSettings
from .scene_noise import RATE, SceneNoise, find_noise

SPEECH_DIR = Path(__file__).parent / "speech"
# Held out of the adaptation for the check: two women and two men, one of them at 48 kHz.
CHECK_SPEECH = ("librispeech_1624-142933-0000.flac", "librispeech_6019-3185-0000.flac",
                "vctk_p227_003.flac", "vctk_p314_272.flac")
CHECK_SECONDS = 2.0
CHECK_SNR_DB = (0.0, 5.0, 10.0, 20.0)
CHECK_TOLERANCE_DB = 0.5
SIGNIFICANCE = 2.0  # standard errors of the check's paired gains (significant_gain)
SEGMENT_S = 1.0
BATCH = 8
LR = 1e-4
WARMUP_STEPS = 10
SNR_DB = (-5.0, 30.0)
P_PAUSE = 0.5  # examples with a pause (noise alone), as between the lines of a take
SI_SDR_WEIGHT = 0.003  # the shipped denoiser's own loss (its weights file records its training command)
DEFAULT_BUDGET_S = 120.0
GPU_BUDGET_S = 30.0
# Found by the detector, noise in more than this share of the takes' time is suspect: a take is
# mostly lines, and under electrical static at 0 dB SNR the detector missed most of them (the
# bench: 40 s of "noise" in a 60 s take with 48 s of speech).
MOST_OF_THE_TAKE = 0.5


@dataclass(frozen=True)
class Check:
    """SI-SDR (dB) of one network on the check examples: per SNR, their mean, on clean speech
    (no noise), and on each noisy example (SNR by SNR, the clips in order)."""

    by_snr: dict[float, float]
    mean: float
    clean: float
    examples: tuple[float, ...]


@dataclass
class Adaptation:
    """What ``adapt`` did: both networks, the check of each, which one to use (``model``: the
    adapted one, or the base when the check refused it) and why."""

    base_model: torch.nn.Module
    tuned_model: torch.nn.Module
    adapted: bool
    reason: str
    steps: int
    train_seconds: float
    base: Check
    tuned: Check

    @property
    def model(self) -> torch.nn.Module:
        return self.tuned_model if self.adapted else self.base_model


@dataclass
class LearnResult:
    """What ``learn`` wrote and how it got there."""

    output: Path
    noise: SceneNoise
    adaptation: Adaptation
    seconds: float
    warnings: list[str]


def parse_budget(text: str | float, device: str = "cpu") -> float:
    """``"120s"``, ``"2m"``, ``"90"`` -> seconds; ``"auto"``: ``DEFAULT_BUDGET_S`` on the CPU,
    ``GPU_BUDGET_S`` on a GPU (``device``). ValueError unless it is 10 s or more."""
    value = str(text).strip().lower()
    if value == "auto":
        return DEFAULT_BUDGET_S if resolve_device(device).type == "cpu" else GPU_BUDGET_S
    scale = 60.0 if value.endswith("m") or value.endswith("min") else 1.0
    number = value.removesuffix("min").removesuffix("m").removesuffix("s")
    try:
        seconds = float(number) * scale
    except ValueError:
        raise ValueError(f"budget {text!r}: give seconds or minutes, e.g. 120s or 2m") from None
    if not 10 <= seconds < float("inf"):
        raise ValueError(f"budget {text!r}: at least 10 s (finding the noise and the check take a few)")
    return seconds


def shipped_speech(folder: Path = SPEECH_DIR) -> tuple[list[Clip], list[Clip]]:
    """The package's clean speech: ``(for adapting, for the check)``."""
    clips = load_folder([folder])
    train = [c for c in clips if c.name not in CHECK_SPEECH]
    check = [c for c in clips if c.name in CHECK_SPEECH]
    if not train or not check:
        raise FileNotFoundError(f"{folder}: the clean speech for dxkit learn is incomplete")
    return train, check


def check_examples(speech: list[Clip], noise: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(noisy [N, T], clean [N, T], bandwidth [N])``: each check clip's first ``CHECK_SECONDS``
    at -26 dBFS active level, under ``noise`` (looped from a random place) at each of
    ``CHECK_SNR_DB``, then once with no noise (the last ``len(speech)`` rows)."""
    rng = np.random.default_rng(seed)
    n = int(CHECK_SECONDS * RATE)
    noisy, clean, bandwidth = [], [], []
    unit = noise / max(float(np.sqrt(np.mean(noise.astype(np.float64) ** 2))), 1e-12)
    for snr in (*CHECK_SNR_DB, None):
        for clip in speech:
            s = np.zeros(n, np.float32)
            s[:min(n, len(clip.audio))] = clip.audio[:n]
            s = s / active_rms(s) * 10 ** (-26 / 20)
            if snr is None:
                x = s
            else:
                start = int(rng.integers(len(unit)))
                x = s + unit[(start + np.arange(n)) % len(unit)] * active_rms(s) * 10 ** (-snr / 20)
            noisy.append(x.astype(np.float32))
            clean.append(s.astype(np.float32))
            bandwidth.append(clip.bandwidth_hz)
    return np.stack(noisy), np.stack(clean), np.asarray(bandwidth, np.float32)


def score(model: torch.nn.Module, examples: tuple[np.ndarray, np.ndarray, np.ndarray], count: int) -> Check:
    """``model`` on the check ``examples`` (``count`` clips per condition), on its device."""
    device = next(model.parameters()).device
    noisy, clean, bandwidth = (torch.from_numpy(a).to(device) for a in examples)
    with torch.inference_mode():
        values = SpectralLoss().to(device).si_sdr_db(model.eval()(noisy), clean, bandwidth).cpu().numpy()
    per = values.reshape(-1, count).mean(axis=1)
    by_snr = {snr: float(v) for snr, v in zip(CHECK_SNR_DB, per)}
    noisy = tuple(float(v) for v in values[:len(CHECK_SNR_DB) * count])
    return Check(by_snr, float(np.mean(per[:len(CHECK_SNR_DB)])), float(per[-1]), noisy)


def verdict(base: Check, tuned: Check) -> tuple[bool, str]:
    """Whether the adapted network is kept, and why (see the module docstring)."""
    gain = tuned.mean - base.mean
    if gain <= 0:
        return False, f"it did not beat the base on speech it never heard over this noise ({gain:+.2f} dB SI-SDR)"
    margin = significant_gain(base.examples, tuned.examples)
    if gain <= margin:
        return False, (f"its gain on speech it never heard over this noise ({gain:+.2f} dB SI-SDR) is within "
                       f"what the check can tell apart ({margin:.2f} dB)")
    worst = min(CHECK_SNR_DB, key=lambda snr: tuned.by_snr[snr] - base.by_snr[snr])
    if tuned.by_snr[worst] - base.by_snr[worst] < -CHECK_TOLERANCE_DB:
        return False, (f"it was worse than the base at {worst:g} dB SNR "
                       f"({tuned.by_snr[worst] - base.by_snr[worst]:+.2f} dB SI-SDR)")
    if tuned.clean < base.clean - CHECK_TOLERANCE_DB:
        return False, f"it changed clean speech more than the base ({tuned.clean - base.clean:+.2f} dB SI-SDR)"
    return True, f"{gain:+.2f} dB SI-SDR over the base on speech it never heard over this noise"


def significant_gain(base: tuple[float, ...], tuned: tuple[float, ...]) -> float:
    """The mean gain, example by example, that ``tuned`` must beat ``base`` by for the check to
    tell them apart: ``SIGNIFICANCE`` standard errors of the paired differences. A rule of thumb
    (as a paired t-test about 97 % one-sided), since the check's 16 examples are four clips at
    four SNRs, not independent draws."""
    gains = np.subtract(tuned, base)
    return float(SIGNIFICANCE * np.std(gains, ddof=1) / np.sqrt(len(gains))) if len(gains) > 1 else 0.0


def adapt(noise: SceneNoise, base: str = "denoise", budget_s: float = DEFAULT_BUDGET_S,
          started: float | None = None, seed: int = 0, max_steps: int | None = None,
          speech: tuple[list[Clip], list[Clip]] | None = None, device: str = "cpu",
          progress: Callable[[str], None] = lambda line: None) -> Adaptation:
    """Fine-tune ``base`` (a network name or weights file) on ``noise`` until ``budget_s``
    seconds have passed since ``started`` (``time.perf_counter()``; now if None), less the time
    the final check takes; or for ``max_steps`` steps; on ``device`` (the examples are made on
    the CPU). The networks come back on the CPU. See the module docstring."""
    where = resolve_device(device)
    started = time.perf_counter() if started is None else started
    train_speech, check_speech = speech or shipped_speech()
    examples = check_examples(check_speech, noise.check, seed)
    reference = models.load(base).to(where)
    t = time.perf_counter()
    base_check = score(reference, examples, len(check_speech))
    check_cost = time.perf_counter() - t
    progress(f"base network: {base_check.mean:.2f} dB SI-SDR on the check")

    model = models.load(base).to(where).train()
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    settings = MixSettings(snr_db=SNR_DB, p_clip=0.0, p_reverb=0.0, p_user_noise=1.0, p_pause=P_PAUSE)
    mixer = Mixer("denoise", train_speech, noise_clips=[Clip("scene", noise.audio, noise.bandwidth_hz)],
                  settings=settings)
    loss_fn = SpectralLoss(si_sdr_weight=SI_SDR_WEIGHT).to(where)
    optimiser = torch.optim.Adam(model.parameters(), lr=LR)
    deadline = started + budget_s - 2 * check_cost - 1.0
    train_from, steps, n = time.perf_counter(), 0, int(SEGMENT_S * RATE)
    while (max_steps is None and time.perf_counter() < deadline) or (max_steps is not None and steps < max_steps):
        batch = [mixer.example(rng, n) for _ in range(BATCH)]
        noisy = torch.from_numpy(np.stack([e.noisy for e in batch])).to(where)
        target = torch.from_numpy(np.stack([e.target for e in batch])).to(where)
        bandwidth = torch.tensor([e.bandwidth_hz for e in batch], dtype=torch.float32, device=where)
        done = steps / max_steps if max_steps else (time.perf_counter() - train_from) / max(deadline - train_from, 1e-9)
        for group in optimiser.param_groups:
            group["lr"] = LR * min(1.0, (steps + 1) / WARMUP_STEPS) * 0.5 * (1 + np.cos(np.pi * min(done, 1.0)))
        loss = loss_fn(model(noisy), target, bandwidth)
        optimiser.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimiser.step()
        steps += 1
        if steps % 25 == 0:
            progress(f"step {steps}: loss {loss.item():.4f} ({time.perf_counter() - started:.0f} s"
                     + (f" of {budget_s:.0f})" if max_steps is None else ")"))
    train_seconds = time.perf_counter() - train_from
    model.eval()
    tuned = score(model, examples, len(check_speech))
    progress(f"adapted network: {tuned.mean:.2f} dB SI-SDR on the check after {steps} steps")
    kept, reason = verdict(base_check, tuned) if steps else \
        (False, f"no time was left to train within the budget ({time.perf_counter() - started:.0f} s spent "
                "finding the noise and checking the base)")
    return Adaptation(reference.cpu(), model.cpu(), kept, reason, steps, train_seconds, base_check, tuned)


def take_identity(path: Path) -> dict:
    """What a take was when it was learned from: its name, size, modification time and SHA-256
    (``batch --learn-noise`` reuses a scene's network only for the same takes)."""
    stat = path.stat()
    return {"name": path.name, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": file_sha256(path)}


def learned_from(about: dict, takes: list[Path]) -> bool:
    """Was the network whose metadata is ``about`` learned from exactly ``takes`` as they are now
    (``take_identity``)? A take's size and modification time stand for its content when both
    match, as in the batch manifest; otherwise its SHA-256 decides."""
    recorded = {t.get("name"): t for t in about.get("takes", []) if isinstance(t, dict)}
    if sorted(recorded) != sorted(p.name for p in takes):
        return False
    try:
        for path in takes:
            was, stat = recorded[path.name], path.stat()
            if (stat.st_size, stat.st_mtime_ns) != (was.get("size"), was.get("mtime_ns")) \
                    and file_sha256(path) != was.get("sha256"):
                return False
    except OSError:
        return False
    return True


def describe(takes: list[str | os.PathLike], noise: SceneNoise, adaptation: Adaptation, base: str,
             budget_s: float, identities: list[dict]) -> dict:
    """What the weights file records about its adaptation (safetensors metadata, ``about``);
    ``identities``: each take's ``take_identity``."""
    check = {"snr_db": list(CHECK_SNR_DB),
             "base_si_sdr_db": [round(adaptation.base.by_snr[s], 2) for s in CHECK_SNR_DB],
             "adapted_si_sdr_db": [round(adaptation.tuned.by_snr[s], 2) for s in CHECK_SNR_DB],
             "base_clean_si_sdr_db": round(adaptation.base.clean, 2),
             "adapted_clean_si_sdr_db": round(adaptation.tuned.clean, 2)}
    return {
        "name": models.role(base), "base": str(base), "adapted": adaptation.adapted, "verdict": adaptation.reason,
        "adapted_on": sorted({Path(t).name for t in takes}),
        "takes": sorted(identities, key=lambda t: t["name"]),
        "noise_from": sorted({s.source for s in noise.stretches}),
        "noise_seconds": round(noise.seconds, 2),
        "noise_stretches": [[s.source, round(s.start_s, 2), round(s.end_s, 2)] for s in noise.stretches[:200]],
        "budget_s": budget_s, "steps": adaptation.steps, "train_seconds": round(adaptation.train_seconds, 1),
        "check": check,
    }


def learn(takes: list[str | os.PathLike], output: str | os.PathLike | None, noise_files: list[str | os.PathLike] = (),
          ranges: list[tuple[float, float]] = (), budget_s: float = DEFAULT_BUDGET_S, base: str = "denoise",
          layout: str | None = None, seed: int = 0, max_steps: int | None = None, device: str = "cpu",
          progress: Callable[[str], None] = lambda line: None) -> LearnResult:
    """Find the scene's noise in ``takes`` (or ``noise_files``, or ``ranges``), adapt ``base``
    to it within ``budget_s`` seconds (all of it: finding the noise included) and write the
    network to ``output`` (a ``.safetensors`` file ``--chain`` accepts; atomically), if given.
    Raises NoiseError when there is too little noise, AudioInputError for an unreadable take,
    OutputError when the file cannot be written."""
    started = time.perf_counter()
    if output is not None and Path(output).suffix != ".safetensors":
        raise ValueError(f"{output}: a learned network is a .safetensors file")
    progress("finding the noise" if not (noise_files or ranges) else "reading the noise")
    noise = find_noise(takes, noise_files, ranges, layout)
    progress(f"noise: {noise.seconds:.1f} s from {len(noise.stretches)} stretch(es)")
    warnings = []
    share = sum(s.end_s - s.start_s for s in noise.stretches) / sum(probe(t).duration_s for t in takes)
    if not (noise_files or ranges) and share > MOST_OF_THE_TAKE:
        warnings.append(f"the detector heard dialogue in only {100 * (1 - share):.0f} % of the take(s): if they are "
                        "mostly dialogue, the noise it learned from holds speech (a loud noise can hide it from "
                        "the detector); give --noise-range or --noise")
    identities = [take_identity(Path(t)) for t in takes]  # read before adapting: inside the budget
    adaptation = adapt(noise, base, budget_s, started, seed, max_steps, device=device, progress=progress)
    model = adaptation.model
    if output is not None:
        try:
            save(model, output, model.family, dict(model.args),
                 describe(takes, noise, adaptation, base, budget_s, identities))
        except OSError as exc:  # a full disk, a folder gone: nothing is left behind (save is atomic)
            raise OutputError(f"{output}: cannot write the learned network ({exc.strerror or exc})") from None
    return LearnResult(Path(output) if output is not None else None, noise, adaptation,
                       time.perf_counter() - started, warnings)


def the_denoiser(chain: list[str]) -> str:
    """The chain's denoiser (the first entry whose ``models.role`` is denoise: the shipped one or
    a file of its own), which ``--learn-noise`` adapts. ValueError if there is none."""
    found = [name for name in chain if models.role(name) == "denoise"]
    if not found:
        raise ValueError(f"--learn-noise adapts the denoiser, and the chain ({','.join(chain)}) has none")
    return found[0]


def scene_chain(chain: list[str], strength: dict[str, float], weights: str | os.PathLike) -> tuple[list[str], dict[str, float]]:
    """``chain`` and its limits with its denoiser (``the_denoiser``) replaced by the learned
    ``weights``, at the denoiser's limit."""
    old, new = the_denoiser(chain), str(weights)
    limits = {(new if name == old else name): limit for name, limit in strength.items()}
    return [new if name == old else name for name in chain], limits
