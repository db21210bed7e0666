"""The click classes behind :mod:`.options`: commands that refuse repeated single options,
options read from ``AUTOTTS_*`` variables under every name, greedy list options and finite
numbers."""

from __future__ import annotations

import math
import os
from typing import Any

import click


class Command(click.Command):
    """A subcommand whose single-valued options refuse to be given twice (click would keep the
    last value silently)."""

    def make_parser(self, ctx: click.Context) -> Any:
        parser = super().make_parser(ctx)
        names = {p.name: p.opts[0] for p in self.params if isinstance(p, click.Option)}
        for opt in {*parser._long_opt.values(), *parser._short_opt.values()}:
            if opt.action not in ("store", "store_const"):
                continue
            previous = opt.process

            def process(value: Any, state: Any, previous: Any = previous, opt: Any = opt) -> None:
                if opt.dest in state.opts:
                    raise click.BadOptionUsage(
                        opt.dest, f"{names.get(opt.dest, opt.dest)} given twice (give it once)"
                    )
                previous(value, state)

            opt.process = process  # type: ignore[method-assign]
        return parser


class Option(click.Option):
    """An option that also reads ``AUTOTTS_<COMMAND>_<NAME>`` for each of its long names and
    shows only its first name in ``--help`` (the others are quiet aliases)."""

    def resolve_envvar_value(self, ctx: click.Context) -> str | None:
        rv = super().resolve_envvar_value(ctx)
        if rv is not None or not self.allow_from_autoenv or ctx.auto_envvar_prefix is None:
            return rv
        for opt in self.opts:
            if opt.startswith("--"):
                name = opt[2:].replace("-", "_").upper()
                value = os.environ.get(f"{ctx.auto_envvar_prefix}_{name}")
                if value:
                    return value
        return None

    def value_from_envvar(self, ctx: click.Context) -> Any:
        if not self.multiple:
            return super().value_from_envvar(ctx)
        rv = self.resolve_envvar_value(ctx)
        return None if rv is None else rv.split()  # every list splits on whitespace

    def get_help_record(self, ctx: click.Context) -> tuple[str, str] | None:
        opts, secondary = self.opts, self.secondary_opts
        longs = [o for o in opts if o.startswith("--")]
        self.opts = [o for o in opts if not o.startswith("--") or o == longs[0]]
        try:
            return super().get_help_record(ctx)
        finally:
            self.opts, self.secondary_opts = opts, secondary


class GreedyOption(Option):
    """A repeatable option that also takes the values that follow it up to the next option, so
    a shell glob works: ``--search-env runs/*/a.json --heldout-env runs/*/b.json``. The values
    arrive as one flat tuple."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["multiple"] = True
        super().__init__(*args, **kwargs)

    def add_to_parser(self, parser: Any, ctx: click.Context) -> None:
        super().add_to_parser(parser, ctx)
        for name in self.opts:
            opt = parser._long_opt.get(name) or parser._short_opt.get(name)
            if opt is None:
                continue
            previous = opt.process

            def process(value: Any, state: Any, previous: Any = previous) -> None:
                previous(value, state)
                while state.rargs and not state.rargs[0].startswith("-"):
                    previous(state.rargs.pop(0), state)

            opt.process = process

    def type_cast_value(self, ctx: click.Context, value: Any) -> Any:
        return tuple(super().type_cast_value(ctx, value))


class Number(click.ParamType):
    """A finite float within bounds: nan and inf are refused with the option's name."""

    name = "number"

    def __init__(
        self, minimum: float | None = None, *, above: bool = False, maximum: float | None = None
    ) -> None:
        self.minimum, self.above, self.maximum = minimum, above, maximum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, float):
            number = value
        else:
            try:
                number = float(value)
            except ValueError:
                self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        low = self.minimum
        if low is not None and (number <= low if self.above else number < low):
            self.fail(f"{value} must be {'>' if self.above else '>='} {low:g}", param, ctx)
        if self.maximum is not None and number > self.maximum:
            self.fail(f"{value} must be <= {self.maximum:g}", param, ctx)
        return number
