"""The ``mmconvert`` command line: a thin click layer over :mod:`mmconvert.api`.

Commands parse options into option objects, call the library, print results on stdout and
diagnostics on stderr.  Library errors become exit codes here and only here: 0 ok, 1 the data has
problems, 2 bad usage, unreadable input or an output conflict, 3 an internal error (a bug).
"""

from __future__ import annotations

import importlib
import sys
import traceback
from typing import Any

import click

from mmconvert import __version__
from mmconvert.cli.render import render_error
from mmconvert.errors import MmconvertError

INTERNAL_ERROR_EXIT = 3


#: Subcommands, imported when used (``mmconvert coco2lf`` does not load the validator).
COMMANDS = {
    "coco2lf": ("mmconvert.cli.coco2lf", "coco2lf"),
    "convert": ("mmconvert.cli.convert", "convert_command"),
    "sharegpt2lf": ("mmconvert.cli.convert", "sharegpt2lf"),
    "alpaca2lf": ("mmconvert.cli.convert", "alpaca2lf"),
    "validate": ("mmconvert.cli.validate", "validate_command"),
    "stats": ("mmconvert.cli.stats", "stats_command"),
}


class MmconvertGroup(click.Group):
    """Turns library errors into messages and exit codes; never shows a traceback without --debug.

    Subcommands come from :data:`COMMANDS` and are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(name for name in COMMANDS if name not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in COMMANDS:
            module, attr = COMMANDS[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)

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
                click.echo(traceback.format_exc(), err=True, nl=False)
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


def main() -> None:
    cli(prog_name="mmconvert")


if __name__ == "__main__":  # pragma: no cover
    main()
    sys.exit(0)
