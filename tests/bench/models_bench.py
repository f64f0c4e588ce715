"""Network benchmark (`make bench-models`): real-time factor of each shipped network and of the
whole chain on one CPU thread (``torch.set_num_threads(1)``) at 48 kHz, on the bundled example
dialogue looped to ``--seconds``. RTF = processing time / audio time; the median of ``--runs``.

    python tests/bench/models_bench.py [--seconds 60] [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from dxkit import models

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "examples" / "dialogue.flac"


def rtf(nets: list[torch.nn.Module], wave: torch.Tensor, runs: int) -> float:
    times = []
    with torch.inference_mode():
        for net in nets:  # warm-up
            net(wave[:, :48000])
        for _ in range(runs):
            t0 = time.perf_counter()
            x = wave
            for net in nets:
                x = net(x)
            times.append(time.perf_counter() - t0)
    return statistics.median(times) / (wave.shape[-1] / 48000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    audio, rate = sf.read(EXAMPLE, dtype="float32")
    assert rate == 48000
    n = int(args.seconds * rate)
    wave = torch.from_numpy(np.resize(audio, n))[None, :]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread, {args.seconds:g} s of 48 kHz mono")
    print(f"{'network':<28}{'parameters':>12}{'RTF':>9}{'x real time':>13}")
    nets = {name: models.load(name) for name in models.SHIPPED}
    for name, net in nets.items():
        r = rtf([net], wave, args.runs)
        params = sum(p.numel() for p in net.parameters())
        print(f"{name:<28}{params:>12,}{r:>9.4f}{1 / r:>13.0f}")
    order = ["deplosive", "denoise", "dereverb"]
    r = rtf([nets[k] for k in order], wave, args.runs)
    print(f"{'chain ' + '+'.join(order):<28}{'':>12}{r:>9.4f}{1 / r:>13.0f}")


if __name__ == "__main__":
    main()
