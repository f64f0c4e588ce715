"""Build data/evalset/: the real speech held out of training, for `dxkit eval`.

Picks a fixed set of clips from the shared corpus (LibriSpeech, VCTK, LJ Speech, LibriTTS,
Thorsten), cuts 4 s from each, and writes them as 16-bit FLAC at their own rate under
``speech/`` with ``SOURCES.txt``. ``heldout.txt`` lists every source file the test set (and the
bundled example) comes from: training leaves them out with ``data.exclude=data/evalset/heldout.txt``.

    python data/evalset/prepare.py /path/to/shared/data/speech
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).parent
SECONDS = 4.0


def picks(speech: Path) -> list[Path]:
    libri = sorted((speech / "librispeech_train_clean_100_16k").glob("*.flac"))[::16]
    vctk = sorted((speech / "vctk_p225_p228_16k").glob("p226_*.wav"))
    lj = sorted((speech / "ljspeech_22k" / "wavs").glob("*.wav"))[-4:]
    libritts = sorted((speech / "libritts_24k").glob("8463_*.wav"))
    thorsten = [speech / "thorsten_de_22k" / "sample03-gt.wav"]
    return libri + vctk[:4] + lj + libritts + thorsten


def cut(audio: np.ndarray, rate: int) -> np.ndarray:
    """The 4 s after the first sound (start of the first 10 ms frame within 40 dB of the peak)."""
    hop = rate // 100
    frames = len(audio) // hop
    power = np.mean(audio[:frames * hop].reshape(frames, hop) ** 2, axis=1)
    first = int(np.argmax(power > power.max() * 1e-4)) * hop
    start = max(0, min(first - hop * 5, len(audio) - int(SECONDS * rate)))
    return audio[start:start + int(SECONDS * rate)]


def main(speech: Path) -> None:
    out = HERE / "speech"
    out.mkdir(exist_ok=True)
    chosen = picks(speech)
    example = ["LJ001-0001.wav", "LJ001-0002.wav", "p226_003.wav", "p226_005.wav"]
    vctk_all = [p.name for p in sorted((speech / "vctk_p225_p228_16k").glob("p226_*.wav"))]
    heldout = sorted({p.name for p in chosen} | set(example) | set(vctk_all))
    lines = []
    for p in chosen:
        audio, rate = sf.read(p, dtype="float64", always_2d=True)
        clip = cut(audio.mean(axis=1), rate)
        name = f"{p.parent.name if p.parent.name != 'wavs' else 'ljspeech'}__{p.stem}.flac"
        sf.write(out / name, clip, rate, subtype="PCM_16")
        lines.append(f"{name}: {SECONDS:g} s of {p.relative_to(speech)} ({rate} Hz)")
    (HERE / "heldout.txt").write_text(
        "# Source files kept out of training (the test set and the bundled example).\n"
        + "\n".join(heldout) + "\n", encoding="utf-8")
    (out / "SOURCES.txt").write_text(
        "Clips cut by data/evalset/prepare.py from the shared corpus; mono, 16-bit FLAC, own rate.\n"
        "Licences: LibriSpeech and LibriTTS CC BY 4.0 (Panayotov et al. 2015; Zen et al. 2019);\n"
        "VCTK CC BY 4.0 (Yamagishi, Veaux, MacDonald, University of Edinburgh,\n"
        "https://doi.org/10.7488/ds/2645); LJ Speech public domain (K. Ito 2017);\n"
        "Thorsten voice CC0 (Thorsten Müller). Cut and re-encoded by dxkit.\n\n"
        + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(chosen)} clips in {out}, {len(heldout)} names in heldout.txt")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
