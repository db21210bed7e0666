"""Option types shared by subcommands."""

from __future__ import annotations

from typing import Any

import click


class GreedyOption(click.Option):
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
