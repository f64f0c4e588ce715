"""Dialogue detector table (`make bench-dialogue`): frame F1 against the dialogue's own activity
and false alarms where there is no dialogue, per condition, for our detector and silero-vad,
on held-out material (``dxkit.train.dialogue_check``); the dialogue-gated loudness it gives
against the one the dialogue stem's own activity gives, in stereo and 5.1 with music and
effects at -20 to +10 dB; and each detector's real-time factor on one thread.

    python tests/bench/dialogue_bench.py [--network activity|path.safetensors] [--no-silero]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from dxkit.train.dialogue_check import RATE, conditions, gated_errors, ours, run, silero

EVALSET = Path(__file__).resolve().parents[2] / "data" / "evalset"


def cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--network", default="activity")
    parser.add_argument("--no-silero", action="store_true")
    args = parser.parse_args()
    cases = conditions(EVALSET)
    detectors = {f"dxkit ({args.network})": ours(args.network)}
    if not args.no_silero:
        detectors["silero-vad 6.2"] = silero()
    results = {name: run(detector, cases) for name, detector in detectors.items()}
    print("| condition | " + " | ".join(f"{name} F1 | false alarms" for name in results) + " |")
    print("|---|" + "---|---|" * len(results))
    for case in cases:
        cells = []
        for scores in results.values():
            s = scores[case.name]
            cells += [cell(s.f1), f"{100 * s.false_alarm:.1f} %"]
        print(f"| {case.name} ({len(case.audio) / RATE:.0f} s) | " + " | ".join(cells) + " |")
    print()
    from dxkit import models
    from dxkit.infer.detect import detect_array

    net = models.load(args.network)
    rows = gated_errors(EVALSET, lambda mix, rate: detect_array(mix, rate, net).active)
    print("| layout | music and effects vs dialogue | reference (stem's activity) | measured (detector) | error |")
    print("|---|---|---|---|---|")
    for layout, db, reference, measured in rows:
        error = "-" if reference is None or measured is None else f"{measured - reference:+.2f} LU"
        print(f"| {layout} | {db:+g} dB | {cell(reference)} LUFS | {cell(measured)} LUFS | {error} |")
    print()
    total = sum(len(c.audio) for c in cases) / RATE
    for name, scores in results.items():
        seconds = sum(s.seconds for s in scores.values())
        print(f"{name}: {seconds:.2f} s for {total:.0f} s of audio, real-time factor {seconds / total:.4f} (one thread)")


if __name__ == "__main__":
    main()
