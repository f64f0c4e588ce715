"""Synthesise wideband training speech with festival's HTS voice (cmu_us_slt_arctic_hts, 32 kHz).

Real speech here is mostly 16 kHz; this voice is the only source of speech up to 16 kHz in
quantity. The text is sentences from the docstrings of Python's standard library (any English
prose serves: the words are only there to make phonemes). Nothing produced here is committed.

    python data/tts/prepare.py OUT_DIR [MINUTES]
"""

from __future__ import annotations

import pydoc
import re
import subprocess
import sys
from pathlib import Path

MODULES = ["collections", "textwrap", "argparse", "logging", "json", "csv", "pathlib", "shutil",
           "subprocess", "threading", "unittest", "email", "http.client", "decimal", "fractions",
           "statistics", "random", "datetime", "calendar", "string", "functools", "itertools"]


def sentences() -> list[str]:
    text = " ".join(pydoc.render_doc(m, renderer=pydoc.plaintext) for m in MODULES)
    found = []
    for s in re.split(r"(?<=[.!?])\s+", re.sub(r"\s+", " ", text)):
        words = s.split()
        if 6 <= len(words) <= 24 and re.fullmatch(r"[A-Za-z ,;'-]+[.!?]", s):
            found.append(s)
    return sorted(set(found))


def main(out: Path, minutes: float) -> None:
    out.mkdir(parents=True, exist_ok=True)
    total = 0.0
    for i, line in enumerate(sentences()):
        if total >= minutes * 60:
            break
        wav = out / f"slt_{i:04d}.wav"
        if not wav.exists():
            subprocess.run(["text2wave", "-eval", "(voice_cmu_us_slt_arctic_hts)", "-o", str(wav)],
                           input=line.encode(), check=True, capture_output=True)
        total += wav.stat().st_size / 2 / 32000
    print(f"{total / 60:.1f} min of festival slt speech in {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), float(sys.argv[2]) if len(sys.argv) > 2 else 10.0)
