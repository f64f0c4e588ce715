"""Save the before/after spectrogram of a QC report as a PNG (the README's demo picture).

    python data/examples/figure.py out/demo/take_ebu-r128.wav.qc.html data/examples/before_after.png
"""

from __future__ import annotations

import base64
import re
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    page = Path(argv[0]).read_text(encoding="utf-8")
    found = re.search(r'alt="spectrogram" src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    if found is None:
        print(f"{argv[0]}: no spectrogram in this report", file=sys.stderr)
        return 1
    Path(argv[1]).write_bytes(base64.b64decode(found.group(1)))
    print(f"wrote {argv[1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
