"""Render every QC report page in a folder with headless Chromium and save PNG screenshots.

    python tests/bench/report_screenshot.py out      # writes out/<name>.qc.html.png
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--window-size=1200,2600"]


def main(folder: str) -> int:
    pages = sorted(Path(folder).glob("*.qc.html"))
    if not pages:
        print(f"no *.qc.html in {folder}; run `make demo` first")
        return 2
    for page in pages:
        png = page.with_suffix(".html.png")
        with tempfile.TemporaryDirectory() as profile:
            subprocess.run(["chromium", *FLAGS, f"--user-data-dir={profile}",
                            f"--screenshot={png.resolve()}", page.resolve().as_uri()],
                           check=True, capture_output=True, timeout=120)
        print(f"{png}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "out"))
