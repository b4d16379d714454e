"""The ``mmconvert`` command line: a thin click layer over :mod:`mmconvert.api`.

Commands parse options into option objects, call the library, print results on stdout and
diagnostics on stderr.  Library errors become exit codes here and only here: 0 ok, 1 the data has
problems, 2 bad usage, unreadable input or an output conflict, 3 an internal error (a bug).
"""

from __future__ import annotations

import sys
import traceback
from typing import Any

import click

from mmconvert import __version__
from mmconvert.cli.render import render_error
from mmconvert.errors import MmconvertError

INTERNAL_ERROR_EXIT = 3


class MmconvertGroup(click.Group):
    """Turns library errors into messages and exit codes; never shows a traceback without --debug."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except MmconvertError as exc:
            render_error(exc)
            ctx.exit(exc.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("mmconvert: interrupted; nothing was written", err=True)
            ctx.exit(130)
        except Exception as exc:
            if ctx.obj and ctx.obj.get("debug"):
                traceback.print_exc()
            else:
                click.echo(
                    f"mmconvert: internal error ({type(exc).__name__}: {exc}). Sorry, this is a bug; "
                    "rerun with --debug for the traceback and report it.",
                    err=True,
                )
            ctx.exit(INTERNAL_ERROR_EXIT)


@click.group(cls=MmconvertGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="mmconvert")
@click.option("--debug", is_flag=True, help="Show the Python traceback of internal errors.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Onboard multimodal datasets into LLaMA-Factory 0.9.5, with its rules checked up front.

    mmconvert converts COCO and chat datasets into LLaMA-Factory's sharegpt layout, inserts and
    counts the <image>/<video>/<audio> tags exactly as LLaMA-Factory counts them, checks every media
    path, and merges a complete dataset_info.json entry.  Nothing is written unless every sample
    passes (or --on-error skip is given).

    \b
    Exit codes: 0 ok, 1 the data has problems, 2 bad usage, unreadable input
    or an output conflict, 3 internal error.
    """
    ctx.ensure_object(dict)
    ctx.obj["debug"] = debug


def _register() -> None:
    from mmconvert.cli.coco2lf import coco2lf
    from mmconvert.cli.convert import alpaca2lf, convert_command, sharegpt2lf

    cli.add_command(coco2lf)
    cli.add_command(convert_command)
    cli.add_command(sharegpt2lf)
    cli.add_command(alpaca2lf)

    from mmconvert.cli.validate import validate_command

    cli.add_command(validate_command)


_register()


def main() -> None:
    cli(prog_name="mmconvert")


if __name__ == "__main__":  # pragma: no cover
    main()
    sys.exit(0)
