"""What every subcommand shares: the one-line error and option-value parsing."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ..data import Environment

PROG = "autotts"


class CliError(click.ClickException):
    """A problem the user can fix; shown as one line ``autotts: error: <message>``, exit 2."""

    exit_code = 2

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"{PROG}: error: {self.format_message()}", file=file, err=file is None)


class Interrupted(click.ClickException):
    """Ctrl-C (or a SIGTERM a command turns into one): one line ``autotts: interrupted: <what
    was kept and how to resume>`` on stderr, exit code 130 (128 + SIGINT), for every command.
    The command group raises it with ``nothing was written`` for any command that does not say
    more; a command that keeps work raises its own (see :func:`keep_on_interrupt`)."""

    exit_code = 130

    def __init__(self, kept: str = "nothing was written") -> None:
        super().__init__(kept)

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"{PROG}: interrupted: {self.format_message()}", file=file, err=file is None)


@contextmanager
def keep_on_interrupt(kept: str) -> Iterator[None]:
    """``with keep_on_interrupt("3 answers were printed; ..."):`` turns Ctrl-C inside the block
    into :class:`Interrupted` saying what was kept (e.g. ``... run the same command with
    --resume to continue``)."""
    try:
        yield
    except KeyboardInterrupt:
        raise Interrupted(kept) from None


def one_line(err: BaseException) -> str:
    """The message of a library exception, as a single line."""
    if isinstance(err, OSError) and err.filename is not None and err.strerror:
        return f"{err.filename}: {err.strerror}"
    text = " ".join(part.strip() for part in str(err).splitlines() if part.strip())
    return text or type(err).__name__


def is_user_error(err: BaseException) -> bool:
    """Errors that mean bad input (malformed files, bad options, unreadable paths), not a bug.
    EnvFormatError and ControllerError are ValueErrors. A closed stdout pipe is left to click."""
    if isinstance(err, OSError):
        return err.errno != errno.EPIPE
    return isinstance(err, ValueError)


def warn(message: str) -> None:
    click.echo(f"{PROG}: warning: {message}", err=True)


def parse_value(text: str) -> int | float | bool | str:
    """``--param`` values: int, then float, then bool (true/false), else the string itself."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return text


def parse_params(items: tuple[str, ...] | list[str]) -> dict[str, Any]:
    """``("k=64", "threshold=0.9")`` -> ``{"k": 64, "threshold": 0.9}``."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise CliError(f"bad --param {item!r}: expected NAME=VALUE (e.g. k=64)")
        if key in params:
            raise CliError(f"--param {key} given twice")
        params[key] = parse_value(value.strip())
    return params


def check_output_path(path: str) -> None:
    """Fail early (one line) when an output file cannot be created where asked."""
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise CliError(f"{path}: directory {parent} does not exist")
    if os.path.isdir(path):
        raise CliError(f"{path}: is a directory")


def env_paths(values: Iterable[str], option: str = "--env") -> tuple[str, ...]:
    """The files ``option``'s values name: paths as given, short names (``Qwen3-4B/aime25``)
    and quoted globs of them (``'*/aime25'``) looked up in $AUTOTTS_REPLAY_DIR and the user
    cache (:func:`autotts.data.resolve_env_paths`). Every command that takes environments
    passes its values through here, before anything else reads them."""
    from ..data import EnvNotFound, resolve_env_paths

    try:
        return tuple(str(p) for p in resolve_env_paths(values, option))
    except EnvNotFound as e:
        raise CliError(str(e)) from None


def load_envs(paths: Iterable[str]) -> list[Environment]:
    """The environments of :func:`env_paths`' files, each checked against its stored content
    hash (a result must not carry the hash of chains it was not computed on)."""
    from ..data import load_env

    return [load_env(p, verify=True) for p in paths]


def resolve_controller(spec: str) -> str:
    """``genome:FILE`` (a genome the evolve search found: its JSON, or the rendered
    controller.py it wrote) becomes the registered name of the project's own interpreter of
    that genome, so found code is never run outside the sandbox; any other spec is as given."""
    if not spec.startswith("genome:"):
        return spec
    from ..discover import GenomeError, register_genome

    try:
        return register_genome(spec.removeprefix("genome:"))
    except GenomeError as e:
        raise CliError(str(e)) from None
