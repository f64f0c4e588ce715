"""GPU benchmark (`make bench-gpu`, for a machine with CUDA): throughput and memory of the chain.

On a CUDA device: the streaming engine runs the whole chain (deplosive, denoise, dereverb) over
``lanes`` signals at once, for each lane count and precision, and prints x real time per GPU
and the peak GPU memory (``torch.cuda.max_memory_allocated``). Then ``dxkit batch`` end to end
(decode, resample, stream, write) over ``--files`` files of 30 s, at the best setting found.

Everywhere (CPU too): the floor the GPU cannot beat, estimated from the networks' shapes:
multiply-adds and bytes per second of audio, and the host's own work per second of audio
(decode, resample, write), measured here.

    python tests/bench/gpu_bench.py [--lanes 64,256,1024,4096] [--precisions fp32,bf16,fp16] [--seconds 20]
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from dxkit import models
from dxkit.infer import Job, Settings, restore_files
from dxkit.infer.batch import run_batch
from dxkit.infer.stream import Stream

CHAIN = ["deplosive", "denoise", "dereverb"]
EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "examples" / "dialogue.flac"


def macs_per_frame(net) -> tuple[int, int]:
    """Multiply-adds per 10 ms frame (dense layers, GRU, deep filter; FFTs as 2.5 N log2 N flops
    each way, counted as MACs / 2) and the bytes of activations written and read per frame."""
    features = net.encoder[0].in_features
    h, layers, bins = net.hidden_size, net.layers, net.n_bins
    dense = features * h + layers * 3 * (2 * h * h) + 2 * h * (net.trained_bands + net.df_bins * net.df_order * 2)
    deep_filter = 4 * net.df_bins * net.df_order
    ffts = int(2 * 2.5 * net.n_fft * math.log2(net.n_fft) / 2)
    # spectrum in, features, gains, spectrum out, window in/out: float32 or complex64 each way
    bytes_moved = 4 * (2 * net.n_fft + 4 * bins * 2 + features + 2 * h * (layers + 1) + net.df_bins * net.df_order * 2)
    return dense + deep_filter + ffts, bytes_moved


def floor_estimate() -> None:
    nets = [models.load(n) for n in CHAIN]
    frames_per_s = 48000 // nets[0].hop
    macs = sum(macs_per_frame(n)[0] for n in nets) * frames_per_s
    moved = sum(macs_per_frame(n)[1] for n in nets) * frames_per_s
    print(f"chain per second of audio: {2 * macs / 1e9:.2f} GFLOP, ~{moved / 1e6:.1f} MB of activations")
    for name, flops, bandwidth in (("H100 SXM (bf16 dense 989 TFLOP/s, 3.35 TB/s)", 989e12, 3.35e12),
                                   ("H100 at fp32 without tensor cores (67 TFLOP/s)", 67e12, 3.35e12)):
        bound = min(flops / (2 * macs), bandwidth / moved)
        print(f"  arithmetic/bandwidth floor on {name}: {bound:,.0f}x real time")
    steps = sum(n.layers for n in nets)
    print(f"  the GRUs are sequential in time: {steps} recurrent layer steps per 10 ms frame, batched over "
          "lanes; assuming ~10 us per step (launch-bound; an assumption, not measured), one chunk of 100 frames costs ~"
          f"{steps * 100 * 10e-3:.0f} ms whatever the lane count, i.e. ~{1.0 / (steps * 100 * 10e-6):.0f}x "
          "real time per lane: 1000x needs at least "
          f"{math.ceil(1000 * steps * 100 * 10e-6)} lanes in flight")
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in.wav"
        audio, _ = sf.read(EXAMPLE, dtype="float32")
        sf.write(src, np.resize(audio, 48000 * 120), 48000, subtype="PCM_24")
        t0 = time.perf_counter()
        for block in sf.blocks(str(src), blocksize=48000 * 4, dtype="float32"):
            pass
        decode = (time.perf_counter() - t0) / 120
        import soxr

        t0 = time.perf_counter()
        soxr.resample(np.resize(audio, 44100 * 120), 44100, 48000, quality="VHQ")
        resample = (time.perf_counter() - t0) / 120
        t0 = time.perf_counter()
        sf.write(Path(tmp) / "out.wav", np.resize(audio, 48000 * 120), 48000, subtype="FLOAT")
        write = (time.perf_counter() - t0) / 120
    host = decode + resample + write
    print(f"host work per second of mono audio on one core here: decode {decode * 1e3:.2f} ms, resample "
          f"44.1->48 kHz {resample * 1e3:.2f} ms, write {write * 1e3:.2f} ms: about {1 / host:,.0f}x real time "
          f"per core, so 1000x per GPU needs ~{math.ceil(1000 * host)} host cores for I/O alone")


def engine(lanes: int, precision: str, seconds: int, device: torch.device) -> tuple[float, float]:
    cuda = device.type == "cuda"
    nets = [models.load(n) for n in CHAIN]
    stream = Stream(nets, device=device, precision=precision, max_batch=lanes)
    signal = 0.05 * torch.randn(48000, device=device)
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
        torch.cuda.synchronize(device)
    handles = [stream.open(seconds * 48000) for _ in range(lanes)]
    t0 = time.perf_counter()
    for second in range(seconds):
        for lane in handles:
            stream.push(lane, signal, last=second == seconds - 1)
        stream.run()
        for lane in handles:
            stream.take(lane)
    if cuda:
        torch.cuda.synchronize(device)
    taken = time.perf_counter() - t0
    return lanes * seconds / taken, torch.cuda.max_memory_allocated(device) / 2 ** 20 if cuda else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lanes", default="64,256,1024,4096")
    parser.add_argument("--precisions", default="fp32,bf16,fp16")
    parser.add_argument("--seconds", type=int, default=20, help="audio per lane in the engine test")
    parser.add_argument("--files", type=int, default=400, help="files of 30 s for the end-to-end batch")
    parser.add_argument("--device", default="cuda", help="cuda (default); cpu only to try the script out")
    args = parser.parse_args()
    print(f"torch {torch.__version__}")
    floor_estimate()
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device here: the GPU measurements need one (run this on a GPU machine)")
        return
    print(f"device: {torch.cuda.get_device_name(device) if device.type == 'cuda' else device}")
    print(f"{'lanes':>6} {'precision':>9} {'x real time':>12} {'peak MB':>9}")
    best = (0.0, 0, "fp32")
    engine(min(64, max(int(x) for x in args.lanes.split(","))), "fp32", 2, device)  # warm-up: cuDNN plans, allocator
    for lanes in (int(x) for x in args.lanes.split(",")):
        for precision in args.precisions.split(","):
            speed, peak = engine(lanes, precision, args.seconds, device)
            print(f"{lanes:>6} {precision:>9} {speed:>12,.0f} {peak:>9,.0f}", flush=True)
            best = max(best, (speed, lanes, precision))
    _, lanes, precision = best
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        audio, _ = sf.read(EXAMPLE, dtype="float32")
        for i in range(args.files):
            sf.write(src / f"take_{i:04d}.wav", np.resize(np.roll(audio, 4801 * i), 48000 * 30), 48000,
                     subtype="PCM_24")
        restore_files([Job(src / "take_0000.wav", Path(tmp) / "warm.wav")],
                      Settings(CHAIN, device=args.device, precision=precision))
        summary = run_batch(src, Path(tmp) / "out", Settings(CHAIN, device=args.device, precision=precision,
                                                             lanes=lanes))
        print(f"dxkit batch end to end, {args.files} files of 30 s, {lanes} lanes, {precision}: "
              f"{summary.seconds_audio / summary.seconds_taken:,.0f}x real time, "
              f"{len(summary.restored) / summary.seconds_taken:.1f} files/s, {len(summary.failed)} failed")


if __name__ == "__main__":
    main()
