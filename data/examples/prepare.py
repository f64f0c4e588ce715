"""Build data/examples/dialogue.flac, the bundled example, from redistributable real speech.

Two real voices (LJ Speech, public domain; VCTK p226, CC BY 4.0) alternate line by line, one
speaker 9 dB quieter than the other, over a quiet synthetic room tone: the kind of uneven
dialogue a mixer gets. The result is committed; this script documents how it was made and
rebuilds it where the source corpus is present:

    python data/examples/prepare.py /path/to/shared/data/speech
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

RATE = 48000
LINES = [  # (file under the speech folder, level change in dB)
    ("ljspeech_22k/wavs/LJ001-0001.wav", 0.0),
    ("vctk_p225_p228_16k/p226_005.wav", -9.0),
    ("ljspeech_22k/wavs/LJ001-0002.wav", 0.0),
    ("vctk_p225_p228_16k/p226_003.wav", -9.0),
]
GAP_S = 0.8
ROOM_TONE_DB = -74.0


def build(speech: Path) -> np.ndarray:
    rng = np.random.default_rng(7)
    parts = [np.zeros(int(1.0 * RATE))]
    for name, gain_db in LINES:
        x, rate = sf.read(speech / name, dtype="float64", always_2d=True)
        x = soxr.resample(x.mean(axis=1), rate, RATE)
        x = x / np.sqrt(np.mean(x ** 2)) * 10 ** ((-26 + gain_db) / 20)
        parts += [x, np.zeros(int(GAP_S * RATE))]
    parts.append(np.zeros(int(1.5 * RATE)))
    voice = np.concatenate(parts)
    # Room tone: pink-ish noise (white noise through a one-pole low-pass) at ROOM_TONE_DB RMS.
    white = rng.standard_normal(voice.size)
    pink = np.convolve(white, 0.05 * 0.95 ** np.arange(200), mode="same")
    pink *= 10 ** (ROOM_TONE_DB / 20) / np.sqrt(np.mean(pink ** 2))
    return (voice + pink)[None, :]


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    out = Path(__file__).with_name("dialogue.flac")
    sf.write(out, build(Path(argv[0])).T, RATE, subtype="PCM_16")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
