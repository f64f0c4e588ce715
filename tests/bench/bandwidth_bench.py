"""Bandwidth-shortcut table (`make bench-bandwidth`): how many dB a denoiser takes off white
noise, pink noise and a held-out river recording in the pauses, alone and under held-out
wideband speech, full band and low-passed at 4, 8 and 11 kHz (``dxkit.train.bandwidth_check``).

    python tests/bench/bandwidth_bench.py [--network denoise|path.safetensors ...] [--real-noise noise/FILE]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from dxkit.train.bandwidth_check import CUTOFFS_HZ, REAL_NOISE, shipped

EVALSET = Path(__file__).resolve().parents[2] / "data" / "evalset"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", nargs="+", default=["denoise"])
    parser.add_argument("--real-noise", default=REAL_NOISE, help="a recording inside data/evalset (default: %(default)s)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    heads = ["full band" if c == 0 else f"< {c / 1000:g} kHz" for c in CUTOFFS_HZ]
    print("| network | noise | " + " | ".join(heads) + " |")
    print("|" + "---|" * (len(heads) + 2))
    for network in args.network:
        table = shipped(network, EVALSET, real_noise=args.real_noise)
        for noise, where in dict.fromkeys((k[0], k[1]) for k in table):
            cells = [f"{table[(noise, where, c)]:.1f}" for c in CUTOFFS_HZ]
            print(f"| {Path(network).stem} | {noise}, {where} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
