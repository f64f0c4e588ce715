"""One line of progress for a user who waits: redrawn in place on a terminal, printed as a line
of its own in a log (only when the caller says one is due, so a log stays readable)."""

from __future__ import annotations

from typing import TextIO


class StatusLine:
    def __init__(self, out: TextIO) -> None:
        self.out, self.tty = out, out.isatty()
        self.drawn = False

    def show(self, line: str, log: bool = False) -> None:
        """Redraw ``line`` on a terminal; in a log, print it when ``log`` is True."""
        if self.tty:
            self.out.write("\r" + line + "\033[K")
            self.out.flush()
            self.drawn = True
        elif log:
            print(line, file=self.out, flush=True)

    def close(self) -> None:
        """End the redrawn line, so what is printed next starts on a line of its own."""
        if self.drawn:
            self.out.write("\n")
            self.out.flush()
            self.drawn = False

    def erase(self) -> None:
        """Take the redrawn line away: what is printed next takes its place."""
        if self.drawn:
            self.out.write("\r\033[K")
            self.out.flush()
            self.drawn = False
