"""The batch's progress line and end summary, as text (the CLI prints them)."""

from __future__ import annotations

import time
from typing import TextIO

from .batch import BatchSummary, Done
from .status import StatusLine

LOG_EVERY_S = 10.0  # without a terminal, a progress line at most this often


class Progress:
    """``[ 12/200]  3.4 files/s  102x real time  1 failed``: redrawn in place on a terminal,
    logged every few seconds otherwise."""

    def __init__(self, out: TextIO) -> None:
        self.line = StatusLine(out)
        self.started = time.perf_counter()
        self.seconds_audio, self.failed, self.last_log = 0.0, 0, 0.0

    def update(self, done: Done | None, finished: int, total: int) -> None:
        """Called before the first file (``done`` None) and after each file."""
        if done is not None:
            self.seconds_audio += done.seconds_audio
            self.failed += done.error is not None
        elapsed = max(time.perf_counter() - self.started, 1e-9)
        line = (f"[{finished:>{len(str(total))}}/{total}]  {finished / elapsed:.2f} files/s  "
                f"{self.seconds_audio / elapsed:.0f}x real time" + (f"  {self.failed} failed" if self.failed else ""))
        due = done is None or finished == total or elapsed - self.last_log >= LOG_EVERY_S
        if due:
            self.last_log = elapsed
        self.line.show(line, log=due)

    def close(self) -> None:
        self.line.close()

    @staticmethod
    def summary(summary: BatchSummary, out_dir: str) -> list[str]:
        """The end report: counts, speed, then every failure and every file that misses its spec."""
        speed = summary.seconds_audio / max(summary.seconds_taken, 1e-9)
        lines = [f"{len(summary.restored)} restored, {len(summary.skipped)} already done (skipped), "
                 f"{len(summary.failed)} failed, {len(summary.ignored)} not audio (ignored); "
                 f"{summary.seconds_audio:.0f} s of audio in {summary.seconds_taken:.0f} s "
                 f"({speed:.0f}x real time) into {out_dir}"]
        for done in summary.failed:
            where = "" if done.error.startswith(done.source) else f"{done.source}: "
            lines.append(f"  FAILED  {where}{done.error}")
        for done in summary.not_passing:
            lines.append(f"  FAIL    {done.output}: misses {', '.join(done.failed_requirements)}")
        for path, why in summary.ignored:
            lines.append(f"  ignored {path}: {why}")
        return lines
