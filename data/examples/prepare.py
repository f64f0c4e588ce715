"""Build the bundled examples from redistributable real recordings (the shared data folder).

- ``dialogue.flac``: two real voices (LJ Speech, public domain; VCTK p226, CC BY 4.0) alternate
  line by line, one 9 dB quieter than the other, over a quiet synthetic room tone: uneven but
  clean dialogue, for delivery.
- ``location_take.flac``: the first three lines as a difficult location take (23 s: the
  traffic recording is 24.7 s long). The voices are in a
  measured hotel room (Conner's IR library, MIT), two plosive pops hit the microphone, and city
  traffic (Blanket's "City" by gezortenplotz, CC BY) runs under it all, 13 dB under the louder
  voice and 4 dB under the quieter one. None of these recordings is in the project's test set
  (``TEST.txt``); the restoration networks did hear the room and the traffic in training.

Both are committed; this script documents how they were made and rebuilds them where the shared
data is present (the pops come from the training code's generator):

    python data/examples/prepare.py /path/to/shared/data
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
ROOM = "rirs/conner_ir_library/rooms_commercial_hotel_room_1_xy_balloon.flac"
TRAFFIC = "noise/blanket/blanket_city.ogg"
TRAFFIC_DB = -39.0  # RMS of the traffic; the voices' lines are at -26 and -35 dBFS RMS
POPS = 2


def read_48k(path: Path) -> np.ndarray:
    x, rate = sf.read(path, dtype="float64", always_2d=True)
    return soxr.resample(x.mean(axis=1), rate, RATE)


def voices(speech: Path, lines: list[tuple[str, float]]) -> np.ndarray:
    """The lines one after another, each at its level, with pauses."""
    parts = [np.zeros(int(1.0 * RATE))]
    for name, gain_db in lines:
        x = read_48k(speech / name)
        parts += [x / np.sqrt(np.mean(x ** 2)) * 10 ** ((-26 + gain_db) / 20), np.zeros(int(GAP_S * RATE))]
    parts.append(np.zeros(int(1.5 * RATE)))
    return np.concatenate(parts)


def dialogue(shared: Path) -> np.ndarray:
    voice = voices(shared / "speech", LINES)
    # Room tone: pink-ish noise (white noise through a one-pole low-pass) at ROOM_TONE_DB RMS.
    white = np.random.default_rng(7).standard_normal(voice.size)
    pink = np.convolve(white, 0.05 * 0.95 ** np.arange(200), mode="same")
    pink *= 10 ** (ROOM_TONE_DB / 20) / np.sqrt(np.mean(pink ** 2))
    return voice + pink


def location_take(shared: Path) -> np.ndarray:
    from dxkit.train import plosives, rooms

    dry = voices(shared / "speech", LINES[:3])
    rir = rooms.normalise(rooms.align(read_48k(shared / ROOM)))
    wet = np.convolve(dry, rir)[:dry.size]
    wet *= np.sqrt(np.mean(dry ** 2) / np.mean(wet ** 2))  # the room adds colour, not level
    popped, _ = plosives.add_pops(np.random.default_rng(11), wet.astype(np.float32), POPS, (14.0, 18.0))
    traffic = read_48k(shared / TRAFFIC)[:dry.size]
    if traffic.size < dry.size:
        raise ValueError(f"{TRAFFIC} is shorter than the take")
    traffic *= 10 ** (TRAFFIC_DB / 20) / np.sqrt(np.mean(traffic ** 2))
    return popped + traffic


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__)
        return 2
    shared = Path(argv[0])
    for name, build in (("dialogue.flac", dialogue), ("location_take.flac", location_take)):
        out = Path(__file__).with_name(name)
        audio = build(shared)
        if np.max(np.abs(audio)) >= 1.0:
            raise ValueError(f"{name} would clip")
        sf.write(out, audio, RATE, subtype="PCM_16")
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
