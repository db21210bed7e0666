"""The controller interface and the registry of built-in controllers.

A controller holds decision logic only: it receives a session (``autotts.env.Session``), takes
actions on it, and returns an answer. The session records what it did.

Two kinds:

* *beta-parameterized* (``uses_beta = True``): one knob ``beta`` in [0, 1]; ``schedule(beta)``
  derives every internal setting from it, and the budget grows with beta;
* *fixed* baselines take named parameters (``defaults``), e.g. ``sc`` with ``k=64``.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, TypeVar

from ..env import Session


class ControllerError(ValueError):
    """A controller that cannot be built as asked (unknown name, bad parameter, ...)."""


class Controller:
    """Subclass, set ``name`` (and ``uses_beta``/``schedule`` or ``defaults``), implement
    ``solve``; ``self.settings`` holds every setting this instance runs with."""

    name: ClassVar[str] = ""
    uses_beta: ClassVar[bool] = False
    defaults: ClassVar[dict[str, Any]] = {}
    # inclusive (lowest, highest) of numeric parameters; None: unbounded on that side
    bounds: ClassVar[dict[str, tuple[float | None, float | None]]] = {}

    def __init__(self, beta: float | None = None, **params: Any) -> None:
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            known = ", ".join(self.defaults) or "none"
            raise ControllerError(
                f"{self.name or type(self).__name__}: unknown parameter(s) {', '.join(unknown)} "
                f"(known: {known})"
            )
        if self.uses_beta:
            if beta is None:
                raise ControllerError(f"{self.name}: needs a beta in [0, 1]")
            b = min(1.0, max(0.0, float(beta)))
        elif beta is not None:
            raise ControllerError(f"{self.name}: takes no beta (use parameters: {self.defaults})")
        self.beta: float | None = b if self.uses_beta else None
        settings = {
            k: _coerce(self, k, v, params[k]) if k in params else v
            for k, v in self.defaults.items()
        }
        for k in params:
            _check_bounds(self, k, settings[k])
        if self.uses_beta:
            settings.update(self.schedule(b))
        self.settings: dict[str, Any] = settings

    @classmethod
    def schedule(cls, beta: float) -> dict[str, Any]:
        """Every internal setting as a function of beta (beta-parameterized controllers)."""
        return {}

    def solve(self, session: Session) -> str | None:
        raise NotImplementedError

    def __repr__(self) -> str:
        arg = f"beta={self.beta:g}" if self.beta is not None else repr(self.settings)
        return f"{type(self).__name__}({arg})"


def _coerce(ctrl: Controller, name: str, default: Any, value: Any) -> Any:
    """``value`` as the type of the parameter's default; refuses lossy conversions."""
    kind = type(default)
    ok = (
        (kind is bool and type(value) is bool)
        or (kind is int and type(value) is int)
        or (kind is int and type(value) is float and value.is_integer())
        or (kind is float and type(value) in (int, float))
        or (kind is str and type(value) is str)
    )
    if not ok:
        raise ControllerError(
            f"{ctrl.name or type(ctrl).__name__}: parameter {name}={value!r} must be "
            f"{'an integer' if kind is int else 'a ' + kind.__name__}"
        )
    return kind(value)


def _check_bounds(ctrl: Controller, name: str, value: Any) -> None:
    """Refuses a parameter value outside the controller's ``bounds`` (and NaN or infinity)."""
    who = ctrl.name or type(ctrl).__name__
    if type(value) is float and not math.isfinite(value):
        raise ControllerError(f"{who}: parameter {name}={value} must be a finite number")
    low, high = ctrl.bounds.get(name, (None, None))
    if low is not None and value < low:
        raise ControllerError(f"{who}: parameter {name}={value!r} must be at least {low:g}")
    if high is not None and value > high:
        raise ControllerError(f"{who}: parameter {name}={value!r} must be at most {high:g}")


_REGISTRY: dict[str, type[Controller]] = {}
C = TypeVar("C", bound=type[Controller])


def register(cls: C) -> C:
    """Class decorator: make a controller available by its ``name``."""
    if not cls.name:
        raise ControllerError(f"{cls.__name__} has no name")
    _REGISTRY[cls.name] = cls
    return cls


def register_as(name: str, cls: type[Controller]) -> str:
    """Make ``cls`` available as ``name`` without touching the class (e.g. a candidate loaded in
    the sandbox, whose own ``name`` may collide with a built-in); returns ``name``."""
    _REGISTRY[name] = cls
    return name


def registered() -> dict[str, type[Controller]]:
    """Built-in controllers by name."""
    return dict(_REGISTRY)


def get_controller(name: str) -> type[Controller]:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ControllerError(
            f"unknown controller {name!r} (built-in: {', '.join(sorted(_REGISTRY))}; "
            "or give path/to/file.py:ClassName)"
        ) from None
