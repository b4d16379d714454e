"""Converting one dataset in several processes: the same importer -> passes -> exporter, on slices.

An importer that can cut its samples into slices sets :attr:`~mmconvert.model.Dataset.parts`.  Each
slice then runs the whole ordinary pipeline (:func:`~mmconvert.passes.run_passes` and the exporter) in
a forked worker process, writing its own part file; the parent joins the part files in slice order
(:func:`~mmconvert.converters.llamafactory.join_parts`) and merges findings and counts in the same
order.  There is no second implementation of anything: a slice is converted exactly like a whole
dataset, so the joined file is byte for byte what one process writes (``tests/test_parallel.py``).

What must hold across slices is checked after the fact: each slice reports the ids it saw (e.g.
COCO annotation ids), and if two slices saw the same id the parts are discarded and the caller
converts in one process, where the duplicate is found as usual.  Runs that keep per-run state a
worker could not share (deep media checks in their own process pool, a token budget, a quarantine
list) are never split.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import pickle
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import Any

from mmconvert.findings import Finding, Findings
from mmconvert.media import default_jobs
from mmconvert.model import Dataset, Sample
from mmconvert.options import CheckTier, OutputOptions, PassOptions
from mmconvert.passes import PassStats, run_passes
from mmconvert.progress import PROGRESS_LOGGER, ProgressCounter

log = logging.getLogger("mmconvert.parallel")

#: Below this many samples a dataset is converted in one process (starting workers costs ~50 ms each,
#: and a small run is over before that pays off).
MIN_SAMPLES = 100_000
#: Samples a worker converts between two updates of the shared progress count.
_PROGRESS_STEP = 4096


def plan(dataset: Dataset, options: PassOptions, output: OutputOptions) -> int:
    """How many processes to convert ``dataset`` in (1: do not split)."""
    if dataset.parts is None or (dataset.size or 0) < MIN_SAMPLES:
        return 1
    if options.check not in (CheckTier.NONE, CheckTier.EXISTS) or options.budget or options.quarantine:
        return 1
    if not sys.platform.startswith("linux") or "fork" not in multiprocessing.get_all_start_methods():
        return 1  # workers must inherit the parsed input (fork); fork is safe to use on Linux only
    return max(1, min(options.jobs or default_jobs(), (dataset.size or 0) // (MIN_SAMPLES // 2)))


@dataclass
class _Job:
    dataset: Dataset
    parts: int
    options: PassOptions
    output: OutputOptions
    write: Callable[[Dataset, OutputOptions], Any]
    findings: Findings
    counter: Any  # multiprocessing.Value shared with the parent, for progress
    collector: Any = None  # mmconvert.stats.StatsCollector watching the samples (--report, --html)


@dataclass
class PartResult:
    """What a worker sends back: its findings (in order), counts, part file and seen ids."""

    findings: list[Finding]
    skipped: int
    stats: PassStats
    written: Any  # llamafactory.WrittenFile
    ids: Any
    collector: Any = None  # what the worker's copy of the collector observed


_JOB: _Job | None = None  # set in the parent just before the workers are forked


def _counted(samples: Iterable[Sample], counter: Any) -> Iterator[Sample]:
    n = 0
    for sample in samples:
        n += 1
        if n == _PROGRESS_STEP:
            with counter.get_lock():
                counter.value += n
            n = 0
        yield sample
    with counter.get_lock():
        counter.value += n


def _run_part(k: int) -> PartResult | BaseException:
    """In a worker: convert slice ``k`` with the ordinary pipeline."""
    job = _JOB
    assert job is not None and job.dataset.parts is not None
    PROGRESS_LOGGER.setLevel(logging.WARNING)  # the parent reports progress for all workers
    _prefix_logs(f"[part {k + 1}/{job.parts}] ")
    try:
        findings = job.findings
        mark, skipped = len(findings), findings.skipped
        part = job.dataset.parts(k, job.parts)
        stats = PassStats()
        dataset = replace(job.dataset, samples=_counted(part.samples, job.counter))
        # the first part file becomes the result (see join_parts): only it is synced (--fsync)
        output = job.output if k == 0 else replace(job.output, sync=False)
        if job.collector is not None:
            from mmconvert.stats import run_observed

            passed = run_observed(dataset, job.options, findings, stats, job.collector)
        else:
            passed = run_passes(dataset, job.options, findings, stats)
        written = job.write(passed, output)
        found = findings.to_list()[mark:]
        return PartResult(found, findings.skipped - skipped, stats, written, part.ids, job.collector)
    except BaseException as exc:  # sent back and raised in the parent
        try:
            pickle.dumps(exc)
        except Exception:
            return RuntimeError(f"{type(exc).__name__}: {exc}")
        return exc


def _prefix_logs(prefix: str) -> None:
    """In a worker: start every ``-v``/log-file line with the part it comes from."""

    def add_prefix(record: logging.LogRecord) -> bool:
        record.msg = prefix + str(record.msg)
        return True

    for handler in logging.getLogger("mmconvert").handlers:
        handler.addFilter(add_prefix)


def convert_parts(
    dataset: Dataset,
    parts: int,
    options: PassOptions,
    output: OutputOptions,
    write: Callable[[Dataset, OutputOptions], Any],
    findings: Findings,
    collector: Any = None,
) -> list[PartResult] | None:
    """Convert ``dataset`` in ``parts`` worker processes; the results in slice order, or ``None`` when
    the slices overlap (then nothing is left behind and the caller converts in one process).

    Findings, counts and part files are not merged here: see :func:`merge_findings` and the
    exporter's ``join_parts``.
    """
    global _JOB
    context = multiprocessing.get_context("fork")
    counter = context.Value("q", 0)
    _JOB = _Job(dataset, parts, options, output, write, findings, counter, collector)
    progress = ProgressCounter("reading samples", total=dataset.size, unit="samples")
    results: list[PartResult | BaseException] = []
    futures: list[Future[PartResult | BaseException]] = []
    log.info("converting in %d processes", parts)
    try:
        with ProcessPoolExecutor(max_workers=parts, mp_context=context) as pool:
            futures = [pool.submit(_run_part, k) for k in range(parts)]
            pending = set(futures)
            while pending:
                _, pending = wait(pending, timeout=0.2, return_when=FIRST_EXCEPTION)
                progress.advance(counter.value - progress.done)
            results = [f.result() for f in futures]
    except BaseException:  # Ctrl-C, a worker killed: remove the part files finished so far
        _discard([r for f in futures if _finished(f) and isinstance(r := f.result(), PartResult)])
        raise
    finally:
        _JOB = None
        progress.finish()
    done = [r for r in results if isinstance(r, PartResult)]
    failure = next((r for r in results if isinstance(r, BaseException)), None)
    if failure is not None or _overlap(done):
        _discard(done)
        if failure is not None:
            raise failure
        log.info("the slices share ids: converting again in one process")
        return None
    return done


def _finished(future: Future[PartResult | BaseException]) -> bool:
    """Whether ``future`` holds a worker's PartResult (not an error, not cancelled)."""
    return (
        future.done()
        and not future.cancelled()
        and future.exception() is None
        and isinstance(future.result(), PartResult)
    )


def _overlap(results: list[PartResult]) -> bool:
    for i, a in enumerate(results):
        for b in results[i + 1 :]:
            if a.ids is not None and b.ids is not None and a.ids.overlaps(b.ids):
                return True
    return False


def _discard(results: list[PartResult]) -> None:
    for r in results:
        if r.written.temp_path:
            with contextlib.suppress(OSError):
                os.unlink(r.written.temp_path)


def merge_findings(
    findings: Findings, results: list[PartResult], stats: PassStats, collector: Any = None
) -> None:
    """Add the workers' findings and counts (and statistics, to ``collector``) to the run's, in slice
    order (the order one process has)."""
    for r in results:
        if collector is not None and r.collector is not None:
            collector.merge(r.collector)
        findings.extend(r.findings)
        findings.skipped += r.skipped
        stats.seen += r.stats.seen
        stats.passed += r.stats.passed
        stats.rejected += r.stats.rejected
