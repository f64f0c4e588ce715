"""Choose among a detector run's weight files on validation material, never on the test set.

The programmes are those of the test (``dialogue_check.programmes``) built from files of the
training corpus that training left out (``data/validation/activity.txt``, given to
``data.exclude``), General MIDI music rendered with another seed than the training music
(``gm_music.py``), babble made of half the validation voices (``activity.babble``), alone
and under the other half's dialogue, and, given ``--recorded-music`` (``game_music.py
--validation``: soundtracks by composers training never heard), recorded music alone and under
the dialogue. Each weight file gets a score: the mean F1 of the conditions with dialogue
minus the mean false-alarm share of those without; the best is printed last. A name may join
networks with ``+`` to score them together as the shipped detector joins its two (the lower
probability of each frame): ``runs/activity_r7.safetensors+silero_vad``.

    python -m dxkit.train.activity_validation --shared ../shared/data --music VAL_MUSIC_DIR \\
        runs/activity_r4.step*.safetensors
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from .activity import babble
from .dialogue_check import RATE, Condition, chain, dialogue, loop, ours, programmes, read, run, unit
from .levels import FRAME, active_rms

LIST = Path(__file__).resolve().parents[1] / "data" / "validation" / "activity.txt"
SECONDS_ALONE = 60.0
BABBLE_UNDER_DB = 5  # dialogue over a crowd of other voices, this many dB above it
MUSIC_UNDER_DB = 6  # recorded music under the dialogue, this many dB below it (as in the test)


def sections(path: Path = LIST) -> dict[str, list[str]]:
    """The names of ``path`` under each ``# Heading`` line (its first word, lower case)."""
    out: dict[str, list[str]] = {}
    current = None
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# ") and len(line.split()) <= 5:
            current = line[2:].split()[0].lower()
            out[current] = []
        elif line.strip() and not line.startswith("#") and current:
            out[current].append(line.strip())
    return out


def find(shared: Path, names: list[str]) -> list[Path]:
    found = {p.name: p for p in shared.rglob("*") if p.name in set(names)}
    missing = [n for n in names if n not in found]
    if missing:
        raise SystemExit(f"error: not under {shared}: {', '.join(missing)}")
    return [found[n] for n in names]


def conditions(shared: Path, music_dir: Path, recorded_dir: Path | None = None) -> list[Condition]:
    names = sections()
    music = [read(p) for p in sorted(music_dir.glob("*.flac"))]
    if not music:
        raise SystemExit(f"error: no .flac music in {music_dir}")
    speech = find(shared, names["speech"])
    half = len(speech) // 2  # the crowd's voices are not the dialogue's
    crowd = babble(np.random.default_rng(0), [read(p) for p in speech[half:]], int(SECONDS_ALONE * RATE))
    alone = [("music alone", chain(music[1:], int(SECONDS_ALONE * RATE))),
             ("effects alone", chain([read(p) for p in find(shared, names["effects"])], int(SECONDS_ALONE * RATE))),
             ("babble alone", crowd)]
    cases = programmes(speech, [read(p) for p in find(shared, names["ambiences"])], music[0], alone)
    voices, labels = dialogue(speech[:half])
    under = voices + loop(unit(crowd), len(voices)) * active_rms(voices) * 10 ** (-BABBLE_UNDER_DB / 20)
    cases.append(Condition(f"babble under ({BABBLE_UNDER_DB} dB)", under.astype(np.float32), labels))
    if recorded_dir is not None:
        recorded = [unit(read(p)) for p in sorted(recorded_dir.glob("*.flac"))]
        if not recorded:
            raise SystemExit(f"error: no .flac music in {recorded_dir}")
        clean = cases[0]  # the clean programme
        bed = chain(recorded, len(clean.audio)) * active_rms(clean.audio) * 10 ** (-MUSIC_UNDER_DB / 20)
        alone = (np.concatenate(recorded) * 10 ** (-23 / 20)).astype(np.float32)
        cases += [Condition(f"recorded music under (-{MUSIC_UNDER_DB} dB)", (clean.audio + bed).astype(np.float32),
                            clean.labels),
                  Condition("recorded music alone", alone, np.zeros(len(alone) // FRAME, bool))]
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("weights", nargs="+", help="weights files or names, or several joined by +")
    parser.add_argument("--shared", type=Path, required=True, help="the corpus the files were left out of")
    parser.add_argument("--music", type=Path, required=True, help="validation music (gm_music.py, another seed)")
    parser.add_argument("--recorded-music", type=Path, help="validation soundtracks (game_music.py --validation)")
    args = parser.parse_args()
    cases = conditions(args.shared, args.music, args.recorded_music)
    best = None
    for weights in args.weights:
        scores = run(ours(weights), cases)
        f1 = [s.f1 for s in scores.values() if s.f1 is not None]
        alarms = [s.false_alarm for c, s in zip(cases, scores.values()) if not c.labels.any()]
        value = float(np.mean(f1) - np.mean(alarms))
        cells = " ".join(f"{name}={s.f1:.3f}" if s.f1 is not None else f"{name}=FA {100 * s.false_alarm:.1f}%"
                         for name, s in scores.items())
        print(f"{weights}: score {value:.4f} | {cells}", flush=True)
        if best is None or value > best[0]:
            best = (value, weights)
    print(f"best: {best[1]} (score {best[0]:.4f})")


if __name__ == "__main__":
    main()
