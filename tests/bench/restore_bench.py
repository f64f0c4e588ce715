"""Restore and batch benchmark (`make bench-restore`): the whole chain on real files, on the CPU.

- ``rtf``: the chain (deplosive, denoise, dereverb) on one 10-minute file, read, streamed and
  written as ``dxkit restore --spec none`` does, at 1 and 2 torch threads. RTF = wall time /
  audio time.
- ``batch``: ``dxkit batch --spec none`` over 200 files of 30 s: one process with every thread,
  and ``--jobs 2`` (one thread each). Prints x real time and files/s.
- ``long`` (only when asked, with ``--long-hours``): ``dxkit restore`` on one file that long, in
  a child process, with its peak resident memory (ru_maxrss) and RTF.

The files are built from the bundled example dialogue, looped, in a temporary folder.

    python tests/bench/restore_bench.py [--what rtf,batch] [--files 200] [--long-hours 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf
import torch

from dxkit.infer import Job, Settings, restore_files
from dxkit.infer.batch import run_batch

EXAMPLE = Path(__file__).resolve().parents[2] / "data" / "examples" / "dialogue.flac"
CHAIN = ["deplosive", "denoise", "dereverb"]


def looped(seconds: float, seed: int = 0) -> np.ndarray:
    audio, rate = sf.read(EXAMPLE, dtype="float32")
    assert rate == 48000
    start = np.random.default_rng(seed).integers(0, audio.size)
    return np.resize(np.roll(audio, -start), int(seconds * rate))


def write_long(path: Path, seconds: float) -> None:
    """A long 24-bit WAV written block by block, so the bench itself stays small in memory."""
    block = looped(600.0)
    with sf.SoundFile(path, "w", 48000, 1, subtype="PCM_24", format="RF64" if seconds > 20000 else "WAV") as f:
        left = int(seconds * 48000)
        while left > 0:
            f.write(block[:left])
            left -= min(left, block.size)


def bench_rtf(folder: Path) -> None:
    src = folder / "ten_minutes.wav"
    write_long(src, 600.0)
    print("chain on one 10-minute 48 kHz mono file (read, stream, write float WAV):")
    for threads in (1, 2):
        torch.set_num_threads(threads)
        restore_files([Job(src, folder / "warm.wav")], Settings(CHAIN, device="cpu"))  # warm-up (short enough)
        t0 = time.perf_counter()
        outcome = restore_files([Job(src, folder / f"out{threads}.wav")], Settings(CHAIN, device="cpu"))[0]
        taken = time.perf_counter() - t0
        assert outcome.error is None, outcome.error
        print(f"  {threads} thread(s): {taken:6.1f} s for {outcome.seconds_audio:.0f} s, "
              f"RTF {taken / outcome.seconds_audio:.4f} ({outcome.seconds_audio / taken:.0f}x real time)")


def bench_batch(folder: Path, files: int, lanes: int) -> None:
    src = folder / "batch_in"
    src.mkdir()
    for i in range(files):
        sf.write(src / f"take_{i:03d}.wav", looped(30.0, seed=i) * (0.5 + 0.5 * (i % 3) / 2), 48000,
                 subtype="PCM_24")
    print(f"dxkit batch --spec none over {files} files of 30 s (48 kHz mono, 24-bit WAV):")
    for jobs in (1, 2):
        torch.set_num_threads(2 if jobs == 1 else 1)
        out = folder / f"batch_out_{jobs}"
        summary = run_batch(src, out, Settings(CHAIN, device="cpu", lanes=lanes), jobs=jobs)
        assert not summary.failed, summary.failed[:3]
        print(f"  --jobs {jobs} ({'2 threads' if jobs == 1 else '1 thread each'}, {lanes} lanes): "
              f"{summary.seconds_taken:6.1f} s, {summary.seconds_audio / summary.seconds_taken:.0f}x real time, "
              f"{len(summary.restored) / summary.seconds_taken:.2f} files/s")


def bench_long(folder: Path, hours: float) -> None:
    src = folder / "long.wav"
    write_long(src, hours * 3600)
    out = folder / "long_restored.wav"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    t0 = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "dxkit.cli", "restore", str(src), "-o", str(out),
                          "--device", "cpu"], env=env, capture_output=True, text=True)
    taken = time.perf_counter() - t0
    assert run.returncode == 0, run.stderr
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux: kB
    info = sf.info(out)
    print(f"dxkit restore on a {hours:g}-hour file, one thread: {taken:.0f} s, RTF {taken / (hours * 3600):.4f}, "
          f"peak RSS {peak_mb:.0f} MB, output {info.frames / 48000 / 3600:.3f} h {info.format} {info.subtype}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--what", default="rtf,batch", help="rtf, batch (and long, with --long-hours)")
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--lanes", type=int, default=16)
    parser.add_argument("--long-hours", type=float, default=0.0)
    parser.add_argument("--tmp", help="folder for the generated files (default: a temporary one)")
    args = parser.parse_args()
    print(f"torch {torch.__version__}, {os.cpu_count()} CPU cores")
    what = {w.strip() for w in args.what.split(",")}
    with tempfile.TemporaryDirectory(dir=args.tmp) as tmp:
        folder = Path(tmp)
        if "rtf" in what:
            bench_rtf(folder)
        if "batch" in what:
            bench_batch(folder, args.files, args.lanes)
        if args.long_hours > 0:
            bench_long(folder, args.long_hours)


if __name__ == "__main__":
    main()
