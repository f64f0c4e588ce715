"""Dialogue detector table (`make bench-dialogue`): frame F1 against the dialogue's own activity
and false alarms where there is no dialogue, per condition, for our detector and silero-vad,
on held-out material (``dxkit.train.dialogue_check``); the dialogue-gated loudness it gives
against the one the dialogue stem's own activity gives, in stereo and 5.1 with music and
effects at -20 to +10 dB; those mixes delivered to the netflix preset with the detector's mask
and read back by libebur128 on the stem's activity; and each detector's real-time factor on
one thread.

    python tests/bench/dialogue_bench.py [--network activity|silero_vad|path.safetensors|a+b] [--no-silero]

(``--network``: that one network alone, or networks joined by ``+`` as the shipped detector
joins its two; by default the shipped detector, both.)
"""

from __future__ import annotations

import argparse
from pathlib import Path

import sys
import tempfile

import soundfile as sf

from dxkit.infer.detect import decide
from dxkit.train.dialogue_check import RATE, eval_markdown, eval_report, gated_errors, mixes, ours

HERE = Path(__file__).resolve().parent
EVALSET = HERE.parents[1] / "data" / "evalset"
sys.path.insert(0, str(HERE.parent))
from independent import libebur128, libebur128_dialogue_lufs  # noqa: E402


def netflix_rows(detector) -> list[str]:
    """Each mix delivered to the netflix preset with ``detector``'s mask (``ours``), then read
    by libebur128: dialogue-gated on the dialogue stem's own activity (the reference), true peak."""
    from dxkit import specs
    from dxkit.deliver.delivery import deliver

    spec = specs.load("netflix", allow_unavailable=True)
    rows = []
    with tempfile.TemporaryDirectory() as work:
        for layout, db, mix, labels in mixes(EVALSET, (-10.0, 0.0)):
            src, dst = Path(work) / "mix.wav", Path(work) / "out.wav"
            sf.write(src, mix.T, RATE, subtype="PCM_24")
            result = deliver(src, dst, spec, dialogue=decide(detector(mix)))
            ref = libebur128_dialogue_lufs(dst, labels)
            peak = libebur128(dst)["true_peak_dbtp"]
            ok = ref is not None and spec.low <= ref <= spec.high and peak <= spec.true_peak_max_dbtp
            rows.append(f"| {layout} | {db:+g} dB | {cell(result.after.dialogue_lufs)} LUFS | {cell(ref)} LUFS | "
                        f"{peak:.2f} dBTP | {'pass' if ok else 'FAIL'} |")
    return rows


def cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network")
    parser.add_argument("--no-silero", action="store_true")
    args = parser.parse_args()
    detection = eval_report(EVALSET, args.network, ("real",), baselines=not args.no_silero)
    print(eval_markdown(detection))
    print()
    detector = ours(args.network)
    rows = gated_errors(EVALSET, lambda mix, rate: decide(detector(mix)))
    print("| layout | music and effects vs dialogue | reference (stem's activity) | measured (detector) | error |")
    print("|---|---|---|---|---|")
    for layout, db, reference, measured in rows:
        error = "-" if reference is None or measured is None else f"{measured - reference:+.2f} LU"
        print(f"| {layout} | {db:+g} dB | {cell(reference)} LUFS | {cell(measured)} LUFS | {error} |")
    print()
    print("| layout | bed vs dialogue | netflix delivery, ours (detector) | libebur128 on the reference | true peak | |")
    print("|---|---|---|---|---|---|")
    print("\n".join(netflix_rows(detector)))
    print()
    total = sum(r["seconds"] for r in detection)
    for name in detection[0]["systems"]:
        seconds = sum(r["systems"][name]["seconds"] for r in detection)
        print(f"{name}: {seconds:.2f} s for {total:.0f} s of audio, real-time factor {seconds / total:.4f} (one thread)")


if __name__ == "__main__":
    main()
