"""Progress reports and the run log, through the standard :mod:`logging` module.

The library never prints: a :class:`ProgressCounter` emits a record on the ``mmconvert.progress``
logger at most every :data:`EMIT_EVERY` seconds (and once at the end) carrying the step, the count done
and the total, and the modules log what they checked and decided on ``mmconvert.*`` loggers.  Nothing
is shown unless the CLI calls :func:`configure_logging`, which installs

* :class:`ProgressHandler` on stderr (unless ``--quiet``): a bar redrawn in place on a terminal, for
  steps that run longer than :data:`SHOW_AFTER` seconds; plain lines every :data:`PLAIN_EVERY` seconds
  otherwise (logs, CI), so short runs stay silent;
* a stderr log handler at INFO (``-v``) or DEBUG (``-vv``: every file checked, every decision);
* a ``--log-file`` handler at DEBUG with timestamps.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

PROGRESS_LOGGER = logging.getLogger("mmconvert.progress")
LOGGER = logging.getLogger("mmconvert")

EMIT_EVERY = 0.2
SHOW_AFTER = 1.0
PLAIN_EVERY = 10.0
_CHECK_TIME_EVERY = 64


@dataclass
class ProgressState:
    """What one progress record carries (``record.progress``)."""

    step: str
    done: int
    total: int | None
    unit: str
    started: float
    final: bool = False


class ProgressCounter:
    """Counts work done in one step and reports it on ``mmconvert.progress`` (cheap when unused)."""

    def __init__(self, step: str, total: int | None = None, unit: str = "items") -> None:
        self.step = step
        self.total = total
        self.unit = unit
        self.done = 0
        self._enabled = PROGRESS_LOGGER.isEnabledFor(logging.INFO)
        self._started = time.monotonic()
        self._last = self._started
        self._finished = False

    def advance(self, count: int = 1) -> None:
        self.done += count
        if not self._enabled or self.done % _CHECK_TIME_EVERY >= count:
            return
        now = time.monotonic()
        if now - self._last >= EMIT_EVERY:
            self._last = now
            self._emit(False)

    def finish(self) -> None:
        if self._enabled and not self._finished and self.done:
            self._emit(True)
        self._finished = True

    def _emit(self, final: bool) -> None:
        state = ProgressState(self.step, self.done, self.total, self.unit, self._started, final)
        PROGRESS_LOGGER.info("%s: %d", self.step, self.done, extra={"progress": state})

    def __enter__(self) -> ProgressCounter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()


class ProgressHandler(logging.Handler):
    """Draws progress records on a stream: a bar on a terminal, plain periodic lines otherwise."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None) -> None:
        super().__init__(logging.INFO)
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self._shown: dict[tuple[str, float], float] = {}  # step -> time of the last line drawn
        self._active: dict[tuple[str, float], ProgressState] = {}  # running steps, drawn on one line

    def emit(self, record: logging.LogRecord) -> None:
        state = getattr(record, "progress", None)
        if not isinstance(state, ProgressState):
            return
        try:
            self._draw(state, time.monotonic())
        except Exception:  # a closed stream must not break the run
            self.handleError(record)

    def _draw(self, state: ProgressState, now: float) -> None:
        key = (state.step, state.started)
        elapsed = now - state.started
        last = self._shown.get(key)
        if self.tty:
            if state.final:
                self._active.pop(key, None)
            else:
                self._active[key] = state
            if elapsed < SHOW_AFTER and last is None:
                return
            if state.final:
                line, end = render_line(state, elapsed, bar=True), "\n"
            else:
                steps = list(self._active.values())
                line = " | ".join(render_line(s, now - s.started, bar=len(steps) == 1) for s in steps)
                end = ""
            self.stream.write("\r" + line + "\x1b[K" + end)
        else:
            due = (last is None and elapsed >= PLAIN_EVERY) or (
                last is not None and now - last >= PLAIN_EVERY
            )
            if not (due or (state.final and last is not None)):
                return
            self.stream.write(render_line(state, elapsed, bar=False) + "\n")
        self.stream.flush()
        if state.final:
            self._shown.pop(key, None)
        else:
            self._shown[key] = now


def render_line(state: ProgressState, elapsed: float, bar: bool) -> str:
    """``checking media files [#####-----]  50% 5,000/10,000 files  2,345/s``."""
    rate = state.done / elapsed if elapsed > 0 else 0.0
    if state.final:
        return f"{state.step}: {state.done:,} {state.unit} in {elapsed:.1f} s ({rate:,.0f}/s)"
    if state.total:
        fraction = min(state.done / state.total, 1.0)
        count = f"{state.done:,}/{state.total:,} {state.unit}"
        if bar:
            filled = int(fraction * 24)
            return (
                f"{state.step} [{'#' * filled}{'-' * (24 - filled)}] {fraction:4.0%} {count}  {rate:,.0f}/s"
            )
        return f"{state.step}: {count} ({fraction:.0%}, {rate:,.0f}/s)"
    return f"{state.step}: {state.done:,} {state.unit} ({rate:,.0f}/s)"


@contextlib.contextmanager
def configure_logging(
    quiet: bool = False,
    verbose: int = 0,
    log_file: str | None = None,
    stream: TextIO | None = None,
) -> Iterator[None]:
    """Install the progress, ``-v`` and ``--log-file`` handlers for one command; remove them after."""
    err = stream if stream is not None else sys.stderr
    handlers: list[tuple[logging.Logger, logging.Handler]] = []
    saved = (LOGGER.level, PROGRESS_LOGGER.level, PROGRESS_LOGGER.propagate)
    levels = [logging.WARNING]
    PROGRESS_LOGGER.propagate = False  # progress goes to the bar, never into the log
    PROGRESS_LOGGER.setLevel(logging.WARNING if quiet else logging.INFO)
    if not quiet:
        handlers.append((PROGRESS_LOGGER, ProgressHandler(err)))
    if verbose and not quiet:
        stream_handler = logging.StreamHandler(err)
        stream_handler.setLevel(logging.DEBUG if verbose > 1 else logging.INFO)
        stream_handler.setFormatter(logging.Formatter("mmconvert: %(message)s"))
        handlers.append((LOGGER, stream_handler))
        levels.append(stream_handler.level)
    if log_file:
        file_handler = logging.FileHandler(log_file, encoding="utf-8")
        file_handler.setLevel(logging.DEBUG)
        file_handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handlers.append((LOGGER, file_handler))
        levels.append(logging.DEBUG)
    LOGGER.setLevel(min(levels))
    for logger, installed in handlers:
        logger.addHandler(installed)
    try:
        yield
    finally:
        for logger, installed in handlers:
            logger.removeHandler(installed)
            installed.close()
        LOGGER.setLevel(saved[0])
        PROGRESS_LOGGER.setLevel(saved[1])
        PROGRESS_LOGGER.propagate = saved[2]
