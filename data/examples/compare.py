"""Before and after, side by side: what ``make demo`` prints about the take and its restorations.

    python data/examples/compare.py TAKE OUTPUT [OUTPUT ...]

Per file: integrated loudness, loudness range, true peak, the noise floor (RMS of the quietest
500 ms: what a listener hears between lines) and DNSMOS (Reddy et al. 2022, the reference-free
speech-quality estimate of ``speechmos``'s bundled model: OVRL overall, SIG the speech, BAK the
background, each on a 1-5 scale), over the first channel at 16 kHz.
"""

from __future__ import annotations

import sys
from pathlib import Path

import soundfile as sf
import soxr

from dxkit import measure
from dxkit.train.metrics import dnsmos

RATE = 48000


def row(path: Path) -> list[str]:
    m = measure(path)
    audio, rate = sf.read(path, dtype="float32", always_2d=True)
    scores = dnsmos(soxr.resample(audio[:, 0], rate, RATE), RATE)
    return [path.name, f"{m.integrated_lufs:.1f}", f"{m.lra_lu:.1f}", f"{m.true_peak_dbtp:.1f}",
            f"{m.noise_floor_db:.1f}", f"{scores['ovrl']:.2f}", f"{scores['sig']:.2f}", f"{scores['bak']:.2f}"]


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__)
        return 2
    header = ["file", "LUFS", "LRA LU", "dBTP", "floor dB", "DNSMOS OVRL", "SIG", "BAK"]
    rows = [header] + [row(Path(p)) for p in argv]
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
