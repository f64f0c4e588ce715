"""`make bench-learn`: `dxkit learn` on takes with noises the shipped denoiser never trained on.

Each take is 60 s of held-out speech (``data/evalset/speech``, 4 s clips in a seeded order)
with ``PAUSES`` longer pauses between some lines (about 10 s of dialogue-free noise in all, as
an editor's take has between set-ups and lines) and short gaps between the others, over a
held-out noise recording (``data/evalset/noise``) at an SNR of 0, 5 or 10 dB (active speech over
the whole noise). The noise in the long pauses comes from the first ``PAUSE_SHARE`` of the
recording and the noise under the lines from the rest (looped where it is short), joined by
50 ms crossfades: what `dxkit learn` finds between the lines is never the noise it is scored
under.

For each take: `dxkit learn` on the take (the library call behind the command, one thread,
the default 120 s budget, its wall time including finding the noise), then the shipped
denoiser and the adapted one restore the take at full strength, scored against the clean
speech over the whole take: PESQ-WB, SI-SDR, STOI; and PESQ-WB and STOI once more with both at
the attenuation limit `dxkit restore` uses by default (``DEFAULT_STRENGTH_DB``, 12 dB).

    python tests/bench/learn_bench.py [--noises construction,vacuum] [--snrs 0,5,10] [--budget 120]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from dxkit import models
from dxkit.infer.chain import run_chain
from dxkit.infer.settings import DEFAULT_STRENGTH_DB
from dxkit.train.corpus import load_clip, load_folder
from dxkit.train.learn import learn, significant_gain
from dxkit.train.levels import active_rms
from dxkit.train.metrics import pesq_wb, si_sdr, stoi

RATE = 48000
EVALSET = Path(__file__).resolve().parents[2] / "data" / "evalset"
NOISES = {  # the bench's names -> held-out recordings (data/evalset/noise)
    "construction": ["construction.ogg"],
    "vacuum": ["tuxpaint_vacuum_cleaner.ogg"],
    "typing": ["ibm_typing.ogg"],
    "static": ["tumult_static2_electrical-noise.ogg"],
    "hum": ["tumult_hum4_loose-connection-feedback-hum.ogg"],
    "fridge": ["tumult_machine3_fridge-hum-kitchen-2012_cut.ogg"],
    "engine": ["ibm_car_engine.ogg"],  # kinds the shipped denoiser trained on (other recordings)
    "river": ["0ad_water_river_med_21.ogg"],
}
SECONDS = 60.0
PAUSES = 4  # long pauses of 2-3.5 s (with the 1.5 s head: about 10 s of noise alone)
HEAD_S = 1.5
PAUSE_SHARE = 0.35
FADE = 2400  # 50 ms


def looped(x: np.ndarray, n: int, start: int) -> np.ndarray:
    return x[(start + np.arange(n)) % len(x)]


def scene_take(speech: list[np.ndarray], noise: np.ndarray, snr_db: float,
               seed: int) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """``(take, clean, long pauses as sample ranges)``, 60 s at 48 kHz (see the docstring)."""
    rng = np.random.default_rng(seed)
    n = int(SECONDS * RATE)
    clean = np.zeros(n, np.float32)
    pause_after = set(rng.choice(np.arange(1, 11), PAUSES, replace=False).tolist())
    pauses, at, line = [(0, int(HEAD_S * RATE))], int(HEAD_S * RATE), 0
    for i in rng.permutation(len(speech)).tolist() * 3:
        clip = speech[i]
        if at + len(clip) > n - RATE:
            break
        clean[at:at + len(clip)] = clip / active_rms(clip) * 10 ** (-26 / 20)
        at += len(clip)
        line += 1
        gap = int(rng.uniform(2.0, 3.5) * RATE) if line in pause_after else int(rng.uniform(0.2, 0.6) * RATE)
        if line in pause_after:
            pauses.append((at, min(at + gap, n)))
        at += gap
    pauses.append((at, n))  # the tail after the last line
    split = int(PAUSE_SHARE * len(noise))
    quiet, busy = noise[:split], noise[split:]
    bed = looped(busy, n, int(rng.integers(len(busy))))
    for s, e in pauses:  # the pauses' noise from the first part of the recording, crossfaded in
        fill = looped(quiet, e - s + 2 * FADE, int(rng.integers(len(quiet))))
        lo, hi = max(s - FADE, 0), min(e + FADE, n)
        ramp = np.ones(hi - lo, np.float32)
        up = np.sin(0.5 * np.pi * np.arange(FADE) / FADE)
        ramp[:s - lo] = up[FADE - (s - lo):]
        ramp[len(ramp) - (hi - e):] = up[::-1][:hi - e]
        bed[lo:hi] = bed[lo:hi] * np.sqrt(1 - ramp ** 2) + fill[:hi - lo] * ramp
    bed = bed / np.sqrt(np.mean(bed.astype(np.float64) ** 2))
    take = clean + bed * active_rms(clean) * 10 ** (-snr_db / 20)
    return take.astype(np.float32), clean, pauses


def scores(clean: np.ndarray, out: np.ndarray) -> tuple[float, float, float]:
    return pesq_wb(clean, out, RATE), si_sdr(clean, out), stoi(clean, out, RATE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--noises", default="construction,vacuum,hum")
    parser.add_argument("--snrs", default="0,5,10")
    parser.add_argument("--budget", type=float, default=120.0)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    speech = [c.audio for c in load_folder([EVALSET / "speech"])]
    shipped = models.load("denoise")
    print("| noise | SNR | noise found | learn wall | check gain (needed) | kept | PESQ-WB shipped -> adapted | "
          "SI-SDR dB shipped -> adapted | STOI shipped -> adapted | PESQ-WB at the default limit | "
          "STOI at the default limit |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    limit = DEFAULT_STRENGTH_DB["denoise"]
    with tempfile.TemporaryDirectory() as work:
        for name in args.noises.split(","):
            noise = np.concatenate([load_clip(EVALSET / "noise" / f, 0.0).audio for f in NOISES[name]])
            for snr in (float(s) for s in args.snrs.split(",")):
                take, clean, pauses = scene_take(speech, noise, snr, args.seed)
                path = Path(work) / f"{name}_{snr:g}dB.wav"
                sf.write(path, take, RATE, subtype="FLOAT")
                t = time.perf_counter()
                result = learn([path], Path(work) / "scene.safetensors", budget_s=args.budget, seed=args.seed,
                               progress=lambda line: print(f"  {line}", file=sys.stderr, flush=True))
                wall = time.perf_counter() - t
                before = scores(clean, run_chain(take[None], RATE, ["denoise"], nets=[shipped])[0])
                adapted = models.load(result.output)
                after = scores(clean, run_chain(take[None], RATE, ["adapted"], nets=[adapted])[0])
                limited = [scores(clean, run_chain(take[None], RATE, [n], {n: limit}, nets=[net])[0])
                           for n, net in (("denoise", shipped), ("adapted", adapted))]
                a = result.adaptation
                margin = significant_gain(a.base.examples, a.tuned.examples)
                print(f"| {name} | {snr:g} dB | {result.noise.seconds:.1f} s | {wall:.0f} s ({a.steps} steps) | "
                      f"{a.tuned.mean - a.base.mean:+.2f} dB ({margin:.2f}) | {'yes' if a.adapted else 'no'} | "
                      f"{before[0]:.2f} -> {after[0]:.2f} ({after[0] - before[0]:+.2f}) | "
                      f"{before[1]:.2f} -> {after[1]:.2f} ({after[1] - before[1]:+.2f}) | "
                      f"{before[2]:.3f} -> {after[2]:.3f} ({after[2] - before[2]:+.3f}) | "
                      f"{limited[0][0]:.2f} -> {limited[1][0]:.2f} ({limited[1][0] - limited[0][0]:+.2f}) | "
                      f"{limited[0][2]:.3f} -> {limited[1][2]:.3f} ({limited[1][2] - limited[0][2]:+.3f}) |",
                      flush=True)


if __name__ == "__main__":
    main()
