"""The ``autotts`` command line.

One click group; one module per subcommand, each thin over the library. Start-up stays lean
because benchmarks time whole processes: this package imports only click at module level, the
library is imported inside the commands, and rich only when a table or progress bar is drawn.
"""

from __future__ import annotations

from typing import Any

import click

from .. import __version__
from .cache import cache
from .check import check_controller
from .collect import collect
from .common import CliError, Interrupted, is_user_error, keep_on_interrupt, one_line
from .compare import compare
from .controllers import controllers
from .discover import discover
from .env import env
from .episode import episode
from .evaluate import evaluate
from .report import report
from .serve import serve
from .solve import solve


class _Group(click.Group):
    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["autotts.argv"] = list(args)  # the command line, for reports to record
        return super().parse_args(ctx, args)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except KeyboardInterrupt:  # Ctrl-C anywhere: one line and exit 130, never "Aborted!"
            raise Interrupted() from None
        except (CliError, Interrupted):
            raise
        except click.UsageError as e:  # a bad option value: one line too, not click's usage
            hint = f" (autotts {ctx.invoked_subcommand} --help)" if ctx.invoked_subcommand else ""
            raise CliError(one_line(Exception(e.format_message())) + hint) from None
        except Exception as e:
            if is_user_error(e):
                raise CliError(one_line(e)) from None
            raise


@click.group(
    cls=_Group,
    context_settings={
        "auto_envvar_prefix": "AUTOTTS",
        "help_option_names": ["-h", "--help"],
        "max_content_width": 100,
    },
)
@click.version_option(__version__, "--version", prog_name="autotts")
def cli() -> None:
    """Evaluate test-time-scaling controllers on replay environments.

    Every option can also be set with an environment variable AUTOTTS_<COMMAND>_<OPTION>,
    e.g. AUTOTTS_EVALUATE_WORKERS=8 or AUTOTTS_ENV_INFO_REPLICATES=20.
    """


cli.add_command(cache)
cli.add_command(check_controller)
cli.add_command(controllers)
cli.add_command(discover)
cli.add_command(env)
cli.add_command(evaluate)
cli.add_command(compare)
cli.add_command(collect)
cli.add_command(solve)
cli.add_command(serve)
cli.add_command(episode)
cli.add_command(report)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="autotts")


__all__ = ["CliError", "Interrupted", "cli", "keep_on_interrupt", "main"]
