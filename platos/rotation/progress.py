"""Progress of a long run: a bar with rows/s and ETA on a terminal, a log line every few seconds otherwise."""

from __future__ import annotations

import time


class Progress:
    def __init__(self, *, total: int, stream, tty: bool | None = None, interval: float = 5.0, label: str = ""):
        self.total = max(total, 0)
        self.stream = stream
        self.tty = stream.isatty() if tty is None else tty
        self.interval = interval if not self.tty else 0.2
        self.label = label
        self.done = 0
        self.started = time.monotonic()
        self._last = self.started  # first line after one interval, not on the first row

    def rate(self) -> float:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 else 0.0

    def advance(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self.interval:
            self._last = now
            self._draw()

    def _eta(self) -> str:
        rate = self.rate()
        left = max(self.total - self.done, 0)
        if rate <= 0:
            return "--:--"
        seconds = int(left / rate)
        return f"{seconds // 60:02d}:{seconds % 60:02d}"

    def _draw(self) -> None:
        pct = (100.0 * self.done / self.total) if self.total else 100.0
        if self.tty:
            width = 30
            filled = int(width * min(pct, 100.0) / 100)
            bar = "#" * filled + "-" * (width - filled)
            self.stream.write(
                f"\r{self.label} [{bar}] {self.done}/{self.total} rows {pct:5.1f}% "
                f"{self.rate():,.0f} rows/s ETA {self._eta()}"
            )
            self.stream.flush()
        else:
            self.stream.write(
                f"{self.label} progress: {self.done}/{self.total} rows ({pct:.1f}%), "
                f"{self.rate():,.0f} rows/s, ETA {self._eta()}\n"
            )

    def finish(self) -> None:
        self._draw()
        if self.tty:
            self.stream.write("\n")
