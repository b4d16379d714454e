"""Progress display: silent for short steps, a bar on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import io
import logging

from mmconvert.progress import (
    LOGGER,
    PROGRESS_LOGGER,
    ProgressCounter,
    ProgressHandler,
    ProgressState,
    configure_logging,
    render_line,
)


def _state(done: int, final: bool = False, total: int | None = 100) -> ProgressState:
    return ProgressState("checking media files", done, total, "files", started=1000.0, final=final)


def test_terminal_bar_appears_after_a_second_and_ends_with_a_newline() -> None:
    out = io.StringIO()
    handler = ProgressHandler(out, tty=True)
    handler._draw(_state(10), now=1000.5)
    assert out.getvalue() == ""
    handler._draw(_state(50), now=1002.0)
    assert out.getvalue().startswith("\rchecking media files [############------------]  50% 50/100 files")
    handler._draw(_state(100, final=True), now=1004.0)
    assert out.getvalue().endswith("checking media files: 100 files in 4.0 s (25/s)\x1b[K\n")


def test_plain_lines_only_every_ten_seconds() -> None:
    out = io.StringIO()
    handler = ProgressHandler(out, tty=False)
    handler._draw(_state(10), now=1005.0)
    handler._draw(_state(100, final=True), now=1006.0)
    assert out.getvalue() == ""  # a short step leaves no trace in logs
    handler._draw(_state(10), now=1011.0)
    handler._draw(_state(20), now=1015.0)
    handler._draw(_state(30), now=1021.5)
    handler._draw(_state(100, final=True), now=1030.0)
    assert out.getvalue().splitlines() == [
        "checking media files: 10/100 files (10%, 1/s)",
        "checking media files: 30/100 files (30%, 1/s)",
        "checking media files: 100 files in 30.0 s (3/s)",
    ]


def test_unknown_total() -> None:
    assert render_line(_state(1234, total=None), 2.0, bar=True) == "checking media files: 1,234 files (617/s)"


def test_counter_is_silent_without_configuration() -> None:
    counter = ProgressCounter("step")
    for _ in range(1000):
        counter.advance()
    counter.finish()
    assert counter.done == 1000


def test_configure_logging_installs_and_removes_handlers(tmp_path: object) -> None:
    before = (list(LOGGER.handlers), list(PROGRESS_LOGGER.handlers), LOGGER.level)
    err = io.StringIO()
    with configure_logging(verbose=1, stream=err):
        logging.getLogger("mmconvert.media").info("checked %d", 3)
        logging.getLogger("mmconvert.media").debug("not shown at -v")
    assert err.getvalue() == "mmconvert: checked 3\n"
    assert (list(LOGGER.handlers), list(PROGRESS_LOGGER.handlers), LOGGER.level) == before
    with configure_logging(quiet=True, stream=err):
        assert not PROGRESS_LOGGER.isEnabledFor(logging.INFO)


def test_two_running_steps_share_one_terminal_line() -> None:
    out = io.StringIO()
    handler = ProgressHandler(out, tty=True)
    reading = ProgressState("reading samples", 5000, None, "samples", started=1000.0)
    handler._draw(reading, now=1002.0)
    handler._draw(_state(40), now=1002.5)
    assert out.getvalue().split("\r")[-1] == (
        "reading samples: 5,000 samples (2,000/s) | checking media files: 40/100 files (40%, 16/s)\x1b[K"
    )
