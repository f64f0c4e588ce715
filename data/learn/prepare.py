"""Build train/speech/: the clean speech `dxkit learn` adapts the denoiser with, shipped inside the
package so that learning a take's noise works offline after ``pip install``.

About 2.9 minutes from 24 speakers, none of them a speaker of the test set (``data/evalset``)
or of the bundled example, so adapting to a scene never hears a voice it is later scored on:

- LibriSpeech train-clean-100 (CC BY 4.0): 16 speakers, 7 s each (the evalset takes every 16th
  file of the sorted folder from the first; this takes every 16th from the ninth).
- VCTK (CC BY 4.0): p225, p227, p228 at 16 kHz, three utterances each (p226 is the test set's
  and the example's); p238, p314, p317 at their own 48 kHz (p255 and p301 are the evalset's
  wideband speakers), for speech above 8 kHz.
- LibriTTS (CC BY 4.0): speakers 5639 and 8455 at 24 kHz (8463 is the evalset's).

Each clip is cut to at most 7 s after its first sound and written as 16-bit FLAC at its own
rate; ``SOURCES.txt`` lists every file's origin, speaker, licence and attribution.

    python data/learn/prepare.py /path/to/shared/data
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf

OUT = Path(__file__).resolve().parents[2] / "train" / "speech"
SECONDS = 7.0
CREDIT = {
    "librispeech": ("LibriSpeech ASR corpus (Panayotov, Chen, Povey, Khudanpur 2015), train-clean-100, "
                    "LibriVox readings segmented by LibriSpeech", "CC BY 4.0"),
    "vctk": ("CSTR VCTK Corpus (Veaux, Yamagishi, MacDonald; University of Edinburgh), "
             "https://doi.org/10.7488/ds/2645", "CC BY 4.0"),
    "libritts": ("LibriTTS (Zen et al. 2019, openslr 60)", "CC BY 4.0"),
}


def picks(speech: Path) -> list[tuple[Path, str]]:
    libri = sorted((speech / "librispeech_train_clean_100_16k").glob("*.flac"))[8::16]
    vctk16 = [p for s in ("p225", "p227", "p228")
              for p in sorted((speech / "vctk_p225_p228_16k").glob(f"{s}_*.wav"))[:3]]
    vctk48 = [speech / "vctk_48k_msc_project" / f"vctk_{n}.flac" for n in ("p238_165", "p314_272", "p317_166")]
    libritts = [speech / "libritts_24k" / f"{n}.wav" for n in ("5639_40744_000000_000002", "8455_210777_000067_000000")]
    return ([(p, "librispeech") for p in libri] + [(p, "vctk") for p in vctk16 + vctk48]
            + [(p, "libritts") for p in libritts])


def cut(audio: np.ndarray, rate: int) -> np.ndarray:
    """At most ``SECONDS`` from 50 ms before the first sound (the first 10 ms frame within
    40 dB of the loudest)."""
    hop = rate // 100
    frames = len(audio) // hop
    power = np.mean(audio[:frames * hop].reshape(frames, hop) ** 2, axis=1)
    start = max(0, int(np.argmax(power > power.max() * 1e-4)) * hop - 5 * hop)
    return audio[start:start + int(SECONDS * rate)]


def main(shared: Path) -> None:
    heldout = {line.split("#")[0].strip() for line in
               (Path(__file__).resolve().parents[1] / "evalset" / "heldout.txt").read_text().splitlines()}
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.flac"):
        old.unlink()
    rows, total = [], 0.0
    for path, corpus in picks(shared / "speech"):
        if path.name in heldout:
            raise SystemExit(f"{path.name} is held out for the test set")
        audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
        clip = cut(audio.mean(axis=1), rate)
        name = f"{path.stem if path.stem.startswith(corpus) else f'{corpus}_{path.stem}'}.flac"
        sf.write(str(OUT / name), clip, rate, subtype="PCM_16")
        total += len(clip) / rate
        credit, licence = CREDIT[corpus]
        rows.append(f"{name}\t{path.relative_to(shared)}\t{rate}\t{len(clip) / rate:.2f}\t{licence}\t{credit}")
    header = [
        "Clean speech for `dxkit learn`, built by data/learn/prepare.py from the project's shared data",
        "(each source folder's SOURCES.txt there gives the upstream repository and commit). Cut to at most",
        f"{SECONDS:.0f} s after the first sound, 16-bit FLAC at the source rate; no other change.",
        f"{len(rows)} files, {total / 60:.1f} min. No speaker of the test set (data/evalset) or of the bundled example.",
        "Attribution: speech from LibriSpeech (c) 2014 Vassil Panayotov et al., the CSTR VCTK Corpus",
        "(C. Veaux, J. Yamagishi, K. MacDonald, University of Edinburgh) and LibriTTS (H. Zen et al.), CC BY 4.0.",
        "",
        "file\tsource (in the shared data)\trate_Hz\tseconds\tlicence\tcredit",
    ]
    (OUT / "SOURCES.txt").write_text("\n".join(header + rows) + "\n", encoding="utf-8")
    print(f"{len(rows)} files, {total / 60:.1f} min -> {OUT}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python data/learn/prepare.py /path/to/shared/data")
    main(Path(sys.argv[1]))
