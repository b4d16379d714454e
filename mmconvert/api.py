"""The Python API: :func:`convert` runs importer -> passes -> exporter and commits the output.

Nothing here prints or exits; problems are returned as findings or raised as
:class:`~mmconvert.errors.MmconvertError` subclasses.

>>> from mmconvert.api import convert_coco
>>> result = convert_coco("annotations/captions_val2017.json", output_dir="data", name="coco_val")
>>> result.samples_written, result.output_file
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from mmconvert import parallel
from mmconvert.converters import EXPORTERS, IMPORTERS, JOINERS
from mmconvert.dataset_info import (
    DATA_CONFIG,
    check_entry_free,
    locked,
    read_registry_text,
    restore_registry,
    write_entry,
)
from mmconvert.errors import OutputConflict, UsageError, ValidationFailed
from mmconvert.findings import Finding, Findings, Severity
from mmconvert.io import _default_mode, decoding, fsync_dir
from mmconvert.model import Dataset
from mmconvert.options import CocoOptions, OnError, OutputOptions, PassOptions
from mmconvert.passes import PassStats, run_passes
from mmconvert.splits import SplitSpec

if TYPE_CHECKING:
    from mmconvert.stats import StatsCollector

_NAME = re.compile(r"^[\w][\w.\-]*$")
_MAX_NAME_BYTES = 200  # the file name NAME.jsonl must stay under the usual 255-byte limit


@dataclass
class ConvertResult:
    """What a conversion did."""

    name: str
    output_file: str | None
    dataset_info: str | None
    samples_written: int
    samples_seen: int
    samples_rejected: int
    findings: Findings
    notes: tuple[str, ...] = ()
    entry: dict[str, Any] | None = None
    dry_run: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def check_output_target(options: OutputOptions, file_name: str) -> None:
    """Refuse bad names and conflicting outputs before any work is done."""
    name = options.name
    if not _NAME.fullmatch(name) or ".." in name or len(name.encode()) > _MAX_NAME_BYTES:
        raise UsageError(
            f"--name {name!r}: use letters, digits, '_', '-' and '.', starting with a letter or digit",
            hint="the name becomes the dataset_info.json key and the file name",
        )
    out = options.output_dir
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"--output-dir {out}: exists and is not a folder")
    target = os.path.join(out, file_name)
    if os.path.isdir(target):
        raise OutputConflict(f"{target} is a folder; refusing to replace it")
    if os.path.exists(target) and not options.force:
        raise OutputConflict(
            f"{target} exists already",
            hint="choose another --name or --output-dir, or pass --force to replace it",
        )
    if os.path.isdir(out):
        check_entry_free(out, name, options.force)


def convert(
    source_format: str,
    inputs: Sequence[str],
    import_options: Any,
    pass_options: PassOptions,
    output_options: OutputOptions,
    exporter: str = "llamafactory",
    collector: StatsCollector | None = None,
) -> ConvertResult:
    """Convert ``inputs`` (read by the ``source_format`` importer) into an LF dataset folder.

    Raises :class:`ValidationFailed` (with every finding) when the data has error findings and
    ``on_error`` is ``fail``; nothing is written then.  ``collector`` (:mod:`mmconvert.stats`), if given,
    observes the samples that pass (and those with findings, as examples); the run is then not split
    into processes.
    """
    from mmconvert.converters.llamafactory import output_file_name

    if source_format not in IMPORTERS:
        raise UsageError(f"unknown source format {source_format!r} (known: {', '.join(IMPORTERS)})")
    file_name = output_file_name(output_options)
    check_output_target(output_options, file_name)
    findings = Findings()
    # Malformed JSON, invalid UTF-8 or absurd nesting met while reading (now or lazily, while the
    # samples stream) is the input's fault: an InputError naming the input, never a traceback.
    with decoding(inputs):
        dataset = IMPORTERS[source_format](list(inputs), import_options, findings, output_options.name)
    stats = PassStats()

    out_dir = output_options.output_dir
    if output_options.dry_run:
        # The exporter runs too (writing nothing), so samples the layout cannot express are named.
        with decoding(inputs):
            dry = _export(dataset, exporter, pass_options, output_options, findings, stats, collector)
        _add_export_findings(findings, dry.findings)
        return _finish_dry(output_options, dataset.notes, findings, stats, pass_options, dry.samples)

    created = not os.path.isdir(out_dir)
    try:
        os.makedirs(out_dir, exist_ok=True)
        with decoding(inputs):
            written = _export(dataset, exporter, pass_options, output_options, findings, stats, collector)
    except OSError as exc:  # permission denied, disk full, read-only file system, ...
        _remove_if_created(out_dir, created)
        raise UsageError(f"--output-dir {out_dir}: cannot write there ({exc.strerror or exc})") from exc
    except BaseException:
        _remove_if_created(out_dir, created)
        raise
    _add_export_findings(findings, written.findings)
    try:
        _fail_on_errors(findings, stats, pass_options, written.samples, dataset.notes)
        _commit(out_dir, [(output_options.name, written)], output_options.force)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(written.temp_path)
        _remove_if_created(out_dir, created)
        if isinstance(exc, OSError):
            raise UsageError(f"--output-dir {out_dir}: cannot write there ({exc.strerror or exc})") from exc
        raise
    return ConvertResult(
        name=output_options.name,
        output_file=written.final_path,
        dataset_info=os.path.join(out_dir, DATA_CONFIG),
        samples_written=written.samples,
        samples_seen=stats.seen,
        samples_rejected=stats.rejected + findings.skipped,
        findings=findings,
        notes=dataset.notes,
        entry=written.entry,
    )


def _export(
    dataset: Dataset,
    exporter: str,
    pass_options: PassOptions,
    output_options: OutputOptions,
    findings: Findings,
    stats: PassStats,
    collector: StatsCollector | None = None,
) -> Any:
    """Run the passes and the exporter: in several processes when the dataset can be cut into slices
    (see :mod:`mmconvert.parallel`), else in this one.  Returns the exporter's WrittenFile."""
    parts = parallel.plan(dataset, pass_options, output_options) if exporter in JOINERS else 1
    if parts > 1:
        write = EXPORTERS[exporter]
        results = parallel.convert_parts(
            dataset, parts, pass_options, output_options, write, findings, collector
        )
        if results is not None:
            parallel.merge_findings(findings, results, stats, collector)
            return JOINERS[exporter]([r.written for r in results], output_options, dataset)
    if collector is not None:  # the statistics watch the samples (under the dataset's name)
        from mmconvert.stats import run_observed

        return EXPORTERS[exporter](
            run_observed(dataset, pass_options, findings, stats, collector), output_options
        )
    return EXPORTERS[exporter](run_passes(dataset, pass_options, findings, stats), output_options)


def _finish_dry(
    output_options: OutputOptions,
    notes: tuple[str, ...],
    findings: Findings,
    stats: PassStats,
    pass_options: PassOptions,
    written: int | None = None,
) -> ConvertResult:
    written = stats.passed if written is None else written
    _fail_on_errors(findings, stats, pass_options, written, notes)
    return ConvertResult(
        name=output_options.name,
        output_file=None,
        dataset_info=None,
        samples_written=written,
        samples_seen=stats.seen,
        samples_rejected=stats.rejected + findings.skipped,
        findings=findings,
        notes=notes,
        dry_run=True,
    )


def _fail_on_errors(
    findings: Findings, stats: PassStats, options: PassOptions, written: int, notes: tuple[str, ...] = ()
) -> None:
    if written == 0:
        findings.add(
            Finding(
                code="no-samples",
                severity=Severity.ERROR,
                message="no sample survived the checks; LLaMA-Factory would stop with "
                '"Cannot find valid samples"',
                hint="fix the errors listed above",
            )
        )
    if findings.errors and (options.on_error is OnError.FAIL or written == 0):
        raise ValidationFailed(
            f"{findings.errors} error(s) in the data; nothing was written", findings, notes
        )


def _add_export_findings(findings: Findings, unsupported: list[Finding]) -> None:
    """Samples the exporter could not express: one error finding each, counted as skipped."""
    for finding in unsupported:
        findings.skip(finding)


def _remove_if_created(folder: str, created: bool) -> None:
    if created:
        with contextlib.suppress(OSError):
            os.rmdir(folder)


def convert_coco(
    annotations: str,
    output_dir: str = ".",
    name: str = "coco_captions",
    images_dir: str | None = None,
    **options: Any,
) -> ConvertResult:
    """Convenience wrapper: COCO captions file -> LF dataset in ``output_dir``."""
    coco = CocoOptions(images_dir=images_dir)
    passes = PassOptions(**{k: v for k, v in options.items() if k in PassOptions.__dataclass_fields__})
    output = OutputOptions(
        output_dir=output_dir,
        name=name,
        **{k: v for k, v in options.items() if k in OutputOptions.__dataclass_fields__},
    )
    return convert("coco", [annotations], coco, passes, output)


def convert_split(
    source_format: str,
    inputs: Sequence[str],
    import_options: Any,
    pass_options: PassOptions,
    output_options: OutputOptions,
    split: SplitSpec,
    exporter: str = "llamafactory",
    collector: StatsCollector | None = None,
) -> ConvertResult:
    """Like :func:`convert`, but one output file and one entry per split (``NAME_<split>``).

    Samples are split by image (see :mod:`mmconvert.splits`).  All or nothing: every split file and
    every entry is committed, or none is.  The result describes the whole run; ``extra["splits"]``
    holds one :class:`ConvertResult` per split.
    """
    from mmconvert.converters.llamafactory import output_file_name
    from mmconvert.splits import SplitRouter

    if source_format not in IMPORTERS:
        raise UsageError(f"unknown source format {source_format!r} (known: {', '.join(IMPORTERS)})")
    outs = {part: replace(output_options, name=f"{output_options.name}_{part}") for part in split.names}
    check_output_target(output_options, output_file_name(output_options))
    for out in outs.values():
        check_output_target(out, output_file_name(out))
    findings = Findings()
    with decoding(inputs):
        dataset = IMPORTERS[source_format](list(inputs), import_options, findings, output_options.name)
    stats = PassStats()
    passed = run_passes(
        dataset, pass_options, findings, stats, collector.note_findings if collector else None
    )
    router = SplitRouter(passed.samples, split)
    # The largest split first: only the smaller ones are buffered while it streams.
    order = [name for name, _ in sorted(split.parts, key=lambda p: -p[1])]
    out_dir = output_options.output_dir
    created = not os.path.isdir(out_dir) and not output_options.dry_run
    written: dict[str, Any] = {}
    try:
        if not output_options.dry_run:
            os.makedirs(out_dir, exist_ok=True)
        with decoding(inputs):
            for part in order:
                samples = router.stream(part)
                if collector is not None:  # statistics per split
                    samples = collector.stream(samples, outs[part].name)
                written[part] = EXPORTERS[exporter](replace(passed, samples=samples), outs[part])
    except BaseException as exc:
        _discard(written.values())
        _remove_if_created(out_dir, created)
        if isinstance(exc, OSError):
            raise UsageError(f"--output-dir {out_dir}: cannot write there ({exc.strerror or exc})") from exc
        raise
    for part in order:
        _add_export_findings(findings, written[part].findings)
        if written[part].samples == 0:
            findings.add(
                Finding(
                    code="split-empty",
                    severity=Severity.ERROR,
                    message=f"the split {part!r} got no sample; LLaMA-Factory cannot load an empty dataset",
                    hint="use a larger fraction or more data",
                )
            )
    total = sum(w.samples for w in written.values())
    try:
        if findings.errors and any(w.samples == 0 for w in written.values()):
            raise ValidationFailed(
                f"{findings.errors} error(s) in the data; nothing was written", findings, dataset.notes
            )
        _fail_on_errors(findings, stats, pass_options, total, dataset.notes)
        if not output_options.dry_run:
            # entries in the order the user named the splits
            _commit(out_dir, [(outs[part].name, written[part]) for part in split.names], output_options.force)
    except BaseException as exc:
        _discard(written.values())
        _remove_if_created(out_dir, created)
        if isinstance(exc, OSError):
            raise UsageError(f"--output-dir {out_dir}: cannot write there ({exc.strerror or exc})") from exc
        raise
    dry = output_options.dry_run
    per_split = [
        ConvertResult(
            name=outs[part].name,
            output_file=None if dry else written[part].final_path,
            dataset_info=None if dry else os.path.join(out_dir, DATA_CONFIG),
            samples_written=written[part].samples,
            samples_seen=written[part].samples,
            samples_rejected=0,
            findings=findings,
            entry=written[part].entry,
            dry_run=dry,
        )
        for part in split.names
    ]
    return ConvertResult(
        name=output_options.name,
        output_file=None,
        dataset_info=None if dry else os.path.join(out_dir, DATA_CONFIG),
        samples_written=total,
        samples_seen=stats.seen,
        samples_rejected=stats.rejected + findings.skipped,
        findings=findings,
        notes=dataset.notes,
        dry_run=dry,
        extra={"splits": per_split},
    )


def _commit(out_dir: str, outputs: list[tuple[str, Any]], force: bool) -> None:
    """Put finished outputs in place under the folder lock: all of them or none.

    ``outputs`` are (entry name, :class:`~mmconvert.converters.llamafactory.WrittenFile`) pairs.  Files
    that appeared meanwhile and taken entries are refused before anything changes; the entries are
    merged, then the data files renamed into place.  Should a rename fail, the old
    ``dataset_info.json`` text is put back and the files already renamed are removed.
    """
    with locked(out_dir):
        for name, written in outputs:
            if os.path.exists(written.final_path) and not force:
                raise OutputConflict(f"{written.final_path} appeared while converting; not replacing it")
            check_entry_free(out_dir, name, force)
        old_registry = read_registry_text(out_dir)
        committed: list[str] = []
        try:
            for name, written in outputs:
                os.chmod(written.temp_path, _default_mode())
                write_entry(out_dir, name, written.entry, force)
            for _, written in outputs:
                os.replace(written.temp_path, written.final_path)
                committed.append(written.final_path)
        except BaseException:
            restore_registry(out_dir, old_registry)
            for path in committed:
                with contextlib.suppress(OSError):
                    os.unlink(path)
            raise
        fsync_dir(out_dir)


def _discard(files: Any) -> None:
    for written in files:
        if written.temp_path and os.path.exists(written.temp_path):
            with contextlib.suppress(OSError):
                os.unlink(written.temp_path)
