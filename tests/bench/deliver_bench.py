"""Delivery benchmark (`make bench`): speed, memory and correctness on a long programme.

Two programmes: the synthetic speech-like one of the tests (loud and quiet passages, 12 kHz
tone bursts with inter-sample peaks: hard on a limiter and on MP3), and real speech (the
bundled example dialogue, looped). Prints, for 60 minutes of 48 kHz stereo 24-bit, on one CPU
core (taskset + one thread):
× real time for `dxkit measure`, `deliver --spec ebu-r128` (WAV), `deliver --spec acx` (MP3) and
`deliver --spec podcast` (MP3, real speech), and the two MP3 presets on the same speech as a
mono file; `measure --dialogue` and `deliver --spec netflix` (both run the dialogue detector)
on the real speech;
peak RSS of each, and of `measure` and `deliver --spec ebu-r128` on a 3-hour programme; and
ffmpeg `loudnorm` two-pass to the same EBU R128 target side by side: time, and whether its
output passes on the independent meter (libebur128). Our outputs are checked on the same meter.

    python tests/bench/deliver_bench.py [--minutes 60] [--long-minutes 180] [--work out/bench]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
from independent import libebur128  # noqa: E402
from signals import programme  # noqa: E402

RATE = 48000
ONE_CORE = ["taskset", "-c", "0"]
THREAD_ENV = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def make_programme(path: Path, minutes: int) -> Path:
    """A speech-like stereo programme built minute by minute (10 distinct minutes, cycled)."""
    if path.exists() and sf.info(str(path)).frames == minutes * 60 * RATE:
        return path
    tmp = path.with_suffix(".part.wav")
    minutes_cache = [programme(seconds=60, rate=RATE, channels=2, seed=s) for s in range(10)]
    with sf.SoundFile(str(tmp), "w", RATE, 2, "PCM_24", format="RF64" if minutes > 90 else "WAV") as f:
        for m in range(minutes):
            gain = 10 ** ((m % 7 - 3) / 20)  # scenes a few dB apart
            f.write((minutes_cache[m % 10] * gain).T)
    os.replace(tmp, path)
    return path


def make_speech(path: Path, minutes: int, channels: int = 2) -> Path:
    """Real speech for comparison: the bundled example dialogue, looped (in both channels of a
    stereo file, or alone: the mono voice file an audiobook or a podcast usually is)."""
    if path.exists() and sf.info(str(path)).frames == minutes * 60 * RATE:
        return path
    example, rate = sf.read(str(HERE.parents[1] / "data" / "examples" / "dialogue.flac"), dtype="float32")
    assert rate == RATE
    tmp = path.with_suffix(".part.wav")
    total = minutes * 60 * RATE
    with sf.SoundFile(str(tmp), "w", RATE, channels, "PCM_24") as f:
        written = 0
        while written < total:
            piece = example[:total - written]
            f.write(np.stack((piece,) * channels, axis=1))
            written += piece.size
    os.replace(tmp, path)
    return path


def run_timed(cmd: list[str]) -> tuple[float, int, str]:
    """Run on one core; return (seconds, peak RSS in MB, stdout)."""
    env = dict(os.environ, **THREAD_ENV)
    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-f", "%M", *ONE_CORE, *cmd], env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{cmd} failed: {proc.stderr[-2000:]}")
    rss_kb = int(proc.stderr.strip().splitlines()[-1])
    return seconds, rss_kb // 1024, proc.stdout


def dxkit(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("dxkit")), *args]


def loudnorm_two_pass(src: Path, dst: Path) -> float:
    """ffmpeg loudnorm, two passes, to -23 LUFS / -1 dBTP, 48 kHz 24-bit WAV; returns seconds."""
    target = "I=-23:TP=-1:LRA=20"
    t0 = time.perf_counter()
    first = subprocess.run([*ONE_CORE, "ffmpeg", "-hide_banner", "-nostats", "-threads", "1", "-i", str(src),
                            "-af", f"loudnorm={target}:print_format=json", "-f", "null", "-"],
                           capture_output=True, text=True, env=dict(os.environ, **THREAD_ENV))
    text = first.stderr
    stats = json.loads(text[text.rindex("{"):text.rindex("}") + 1])
    measured = (f"measured_I={stats['input_i']}:measured_TP={stats['input_tp']}:"
                f"measured_LRA={stats['input_lra']}:measured_thresh={stats['input_thresh']}:"
                f"offset={stats['target_offset']}:linear=true")
    subprocess.run([*ONE_CORE, "ffmpeg", "-hide_banner", "-nostats", "-y", "-threads", "1", "-i", str(src),
                    "-af", f"loudnorm={target}:{measured}", "-ar", "48000", "-c:a", "pcm_s24le", str(dst)],
                   check=True, capture_output=True)
    return time.perf_counter() - t0


def verdict(path: Path, target: float, tolerance: float, ceiling: float, rms: bool = False) -> str:
    ref = libebur128(path)
    if rms:
        level = json.loads(subprocess.run(dxkit("measure", str(path), "--json"), capture_output=True,
                                          text=True).stdout)["rms_db"]
        ok = -23 <= level <= -18 and ref["true_peak_dbtp"] <= ceiling
        return f"RMS {level:.2f} dB, TP {ref['true_peak_dbtp']:.2f} dBTP (libebur128): {'PASS' if ok else 'FAIL'}"
    ok = abs(ref["integrated_lufs"] - target) <= tolerance and ref["true_peak_dbtp"] <= ceiling
    return (f"I {ref['integrated_lufs']:.2f} LUFS (off {ref['integrated_lufs'] - target:+.2f}), "
            f"TP {ref['true_peak_dbtp']:.2f} dBTP (libebur128): {'PASS' if ok else 'FAIL'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--long-minutes", type=int, default=180)
    parser.add_argument("--work", default="out/bench")
    args = parser.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    print(f"building the {args.minutes}-minute programme ...", flush=True)
    src = make_programme(work / f"programme_{args.minutes}min.wav", args.minutes)
    seconds_audio = args.minutes * 60
    rows = []

    def report(label: str, secs: float, rss: int, extra: str = "") -> None:
        line = f"{label:<48} {secs:8.1f} s  {seconds_audio / secs:7.1f}x real time  peak RSS {rss:5d} MB  {extra}"
        rows.append(line)
        print(line, flush=True)

    secs, rss, _ = run_timed(dxkit("measure", str(src), "--json"))
    report(f"dxkit measure ({args.minutes} min)", secs, rss)
    out_wav = work / "ours_ebu.wav"
    secs, rss, out = run_timed(dxkit("deliver", str(src), "-o", str(out_wav), "--spec", "ebu-r128"))
    report("dxkit deliver --spec ebu-r128 (WAV)", secs, rss, out.splitlines()[0].split(": ", 1)[1])
    print("   ", verdict(out_wav, -23, 0.1, -1.0), flush=True)
    out_mp3 = work / "ours_acx.mp3"
    secs, rss, out = run_timed(dxkit("deliver", str(src), "-o", str(out_mp3), "--spec", "acx"))
    report("dxkit deliver --spec acx (MP3)", secs, rss, out.splitlines()[0].split(": ", 1)[1])
    print("   ", verdict(out_mp3, -20, 0.0, -3.0, rms=True), flush=True)
    speech = make_speech(work / f"speech_{args.minutes}min.wav", args.minutes)
    out_speech = work / "ours_speech_acx.mp3"
    secs, rss, out = run_timed(dxkit("deliver", str(speech), "-o", str(out_speech), "--spec", "acx"))
    report("dxkit deliver --spec acx (MP3), real speech", secs, rss, out.splitlines()[0].split(": ", 1)[1])
    print("   ", verdict(out_speech, -20, 0.0, -3.0, rms=True), flush=True)
    secs, rss, _ = run_timed(dxkit("measure", str(speech), "--dialogue", "--json"))
    report("dxkit measure --dialogue, real speech", secs, rss)
    out_netflix = work / "ours_speech_netflix.wav"
    secs, rss, out = run_timed(dxkit("deliver", str(speech), "-o", str(out_netflix), "--spec", "netflix"))
    report("dxkit deliver --spec netflix (WAV), real speech", secs, rss, out.splitlines()[0].split(": ", 1)[1])
    out_podcast = work / "ours_speech_podcast.mp3"
    secs, rss, out = run_timed(dxkit("deliver", str(speech), "-o", str(out_podcast), "--spec", "podcast"))
    report("dxkit deliver --spec podcast (MP3), real speech", secs, rss, out.splitlines()[0].split(": ", 1)[1])
    print("   ", verdict(out_podcast, -16, 1.0, -1.0), flush=True)
    mono = make_speech(work / f"speech_mono_{args.minutes}min.wav", args.minutes, channels=1)
    for name, target, tolerance, ceiling, rms in (("acx", -20, 0.0, -3.0, True), ("podcast", -16, 1.0, -1.0, False)):
        out_mono = work / f"ours_mono_{name}.mp3"
        secs, rss, out = run_timed(dxkit("deliver", str(mono), "-o", str(out_mono), "--spec", name))
        report(f"dxkit deliver --spec {name} (MP3), mono speech", secs, rss, out.splitlines()[0].split(": ", 1)[1])
        print("   ", verdict(out_mono, target, tolerance, ceiling, rms=rms), flush=True)
    ff_wav = work / "ffmpeg_loudnorm.wav"
    secs = loudnorm_two_pass(src, ff_wav)
    report("ffmpeg loudnorm two-pass (linear) to R128", secs, 0, "(RSS not measured)")
    print("   ", verdict(ff_wav, -23, 0.2, -1.0), flush=True)

    if args.long_minutes:
        print(f"building the {args.long_minutes}-minute programme ...", flush=True)
        long_src = make_programme(work / f"programme_{args.long_minutes}min.wav", args.long_minutes)
        seconds_audio = args.long_minutes * 60
        secs, rss, _ = run_timed(dxkit("measure", str(long_src), "--json"))
        report(f"dxkit measure ({args.long_minutes} min)", secs, rss)
        secs, rss, out = run_timed(dxkit("deliver", str(long_src), "-o", str(work / "long_ebu.wav"),
                                         "--spec", "ebu-r128"))
        report(f"dxkit deliver ebu-r128 ({args.long_minutes} min)", secs, rss, out.splitlines()[0].split(": ", 1)[1])
    print("\nsummary")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
