"""What a report compares: controllers with their sweeps, written as one string each.

``SPEC = TARGET[:KEY=VALUE,...]`` where ``TARGET`` is a registered controller or
``file.py:Class``. A key given several values (``k=1,2,4``: a value without ``=`` continues the
key before it) is the controller's sweep; every other key is a fixed parameter. ``beta`` is the
knob of beta-parameterized controllers, ``label`` names the controller in legends and tables.

* beta controllers (``cmc``) sweep ``beta`` (the report's ``betas`` unless ``beta=`` is given);
* fixed baselines sweep their budget parameter (``DEFAULT_SWEEPS``: ``sc`` over ``k``, ...)
  unless the spec sets it, e.g. ``sc:k=16`` is one point;
* original-style file classes (not :class:`~autotts.controllers.Controller` subclasses) get a
  beta only when ``beta=`` is given.

Examples: ``sc``, ``cmc:beta=0,0.5,1``, ``parallel_probe:T=40,prune_patience=7,label=pp T40``,
``examples/quorum.py:Quorum``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..controllers import ControllerError, ControllerSpec, controller_class, make_solver, uses_beta
from ..evaluate import DEFAULT_BETAS

# the parameter that sets a fixed baseline's budget, and the values a frontier sweeps it over
DEFAULT_SWEEPS: dict[str, tuple[str, tuple[int, ...]]] = {
    "sc": ("k", (1, 2, 4, 8, 16, 32, 64)),
    "asc": ("max_samples", (1, 2, 4, 8, 16, 32, 64)),
    "esc": ("max_samples", (8, 16, 32, 64)),  # below one window (8) ESC reads nothing
    "parallel_probe": ("chains", (8, 16, 32, 64)),
}
MAP_BETA = 0.5  # beta controllers appear in episode maps at the beta of their sweep closest to it


@dataclass(frozen=True)
class ReportController:
    """One controller of a report: a spec, fixed parameters, and the values it is swept over."""

    label: str
    spec: str
    params: dict[str, Any] = field(default_factory=dict)
    sweep: str | None = None  # "beta", a parameter name, or None for a single point
    values: tuple[Any, ...] = ()
    table_values: tuple[Any, ...] = (None,)  # the sweep values that get a row in the tables
    beta: float | None = None  # a fixed beta (original-style classes given one beta)

    def point(self, value: Any = None) -> ControllerSpec:
        """The controller at one sweep value (``None``: the single point)."""
        if self.sweep is None:
            return ControllerSpec(self.spec, dict(self.params), self.beta)
        if self.sweep == "beta":
            return ControllerSpec(self.spec, dict(self.params), value)
        return ControllerSpec(self.spec, {**self.params, self.sweep: value}, self.beta)

    def sweep_values(self) -> tuple[Any, ...]:
        return self.values if self.sweep is not None else (None,)

    def map_value(self) -> Any:
        """The sweep value episode maps show: the table value (the beta closest to 0.5)."""
        if self.sweep == "beta":
            return min(self.values, key=lambda b: (abs(b - MAP_BETA), b))
        return self.table_values[0]

    def point_label(self, value: Any = None) -> str:
        """``cmc β=0.5``, ``sc k=64``, or the label alone for a single point."""
        if self.sweep is None or value is None:
            return self.label
        name = "β" if self.sweep == "beta" else self.sweep
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        return f"{self.label} {name}={shown}"


def _value(text: str) -> Any:
    """int, then float, then true/false, else the string."""
    for convert in (int, float):
        try:
            return convert(text)
        except ValueError:
            pass
    return text.lower() == "true" if text.lower() in ("true", "false") else text


def _split(text: str) -> tuple[str, dict[str, list[str]]]:
    """``file.py:Class:k=1,2,x=3`` -> (``file.py:Class``, {"k": ["1", "2"], "x": ["3"]})."""
    parts = text.split(":")
    n_target = 2 if parts[0].endswith(".py") and len(parts) > 1 else 1
    target = ":".join(parts[:n_target]).strip()
    rest = ",".join(parts[n_target:])
    keys: dict[str, list[str]] = {}
    current: list[str] | None = None
    for token in (t.strip() for t in rest.split(",") if rest.strip()):
        if "=" in token:
            key, _, value = token.partition("=")
            key = key.strip()
            if not key.isidentifier():
                raise ControllerError(f"controller {text!r}: bad parameter name {key!r}")
            if key in keys:
                raise ControllerError(f"controller {text!r}: {key} given twice")
            current = keys[key] = [value.strip()]
        elif current is None:
            raise ControllerError(
                f"controller {text!r}: expected KEY=VALUE after ':' (e.g. sc:k=16), got {token!r}"
            )
        else:
            current.append(token)
    if not target:
        raise ControllerError(f"controller {text!r}: no controller name")
    return target, keys


def parse_controller(
    text: str,
    betas: tuple[float, ...] = DEFAULT_BETAS,
    sweeps: dict[str, tuple[str, tuple[int, ...]]] = DEFAULT_SWEEPS,
) -> ReportController:
    """A :class:`ReportController` from its spec string (see the module docstring); fixed
    baselines without an explicit sweep are swept as ``sweeps`` says. Every point is built once
    so a bad parameter fails here, not in the middle of a report."""
    target, keys = _split(text)
    cls = controller_class(target)  # unknown names and missing files fail here
    kind = uses_beta(target)
    label = " ".join(keys.pop("label", []))
    values = {k: tuple(_value(x) for x in v) for k, v in keys.items()}
    swept = [k for k, v in values.items() if len(v) > 1]
    if len(swept) > 1:
        raise ControllerError(f"controller {text!r}: sweep one parameter at a time, not {swept}")
    if kind is False and "beta" in values:
        raise ControllerError(f"controller {text!r}: {target} takes no beta (a fixed baseline)")
    sweep = swept[0] if swept else None
    if kind is True and sweep not in (None, "beta"):
        raise ControllerError(f"controller {text!r}: {target} sweeps beta, not {sweep}")
    if kind is True or sweep == "beta":
        sweep = "beta"
        sweep_values: tuple[Any, ...] = values.pop("beta", betas)
        for b in sweep_values:
            if isinstance(b, bool) or not isinstance(b, (int, float)) or not 0 <= b <= 1:
                raise ControllerError(f"controller {text!r}: beta {b!r} is not in [0, 1]")
        sweep_values = tuple(float(b) for b in sweep_values)
        table_values: tuple[Any, ...] = sweep_values
    elif sweep is not None:
        sweep_values = values.pop(sweep)
        table_values = (_table_value(cls, sweep, sweep_values),)
    elif kind is False and target in sweeps and sweeps[target][0] not in values:
        sweep, sweep_values = sweeps[target]
        table_values = (_table_value(cls, sweep, sweep_values),)
    else:
        sweep_values, table_values = (), (None,)
    beta = values.pop("beta", (None,))[0]
    if beta is not None and (isinstance(beta, bool) or not isinstance(beta, (int, float))):
        raise ControllerError(f"controller {text!r}: beta {beta!r} is not a number")
    params = {k: v[0] for k, v in values.items()}
    if not label:
        fixed = {**params, **({"beta": beta} if beta is not None else {})}
        label = " ".join([target.rsplit(":", 1)[-1], *(f"{k}={v}" for k, v in fixed.items())])
    rc = ReportController(
        label=label,
        spec=target,
        params=params,
        sweep=sweep,
        values=sweep_values,
        table_values=table_values,
        beta=float(beta) if beta is not None else None,
    )
    for value in rc.sweep_values():
        make_solver(rc.point(value))
    return rc


def _table_value(cls: Any, key: str, values: tuple[Any, ...]) -> Any:
    """The controller's own default when the sweep contains it (sc k=64), else the last value."""
    default = getattr(cls, "defaults", {}).get(key)
    return default if default in values else values[-1]


def parse_controllers(
    texts: list[str] | tuple[str, ...],
    betas: tuple[float, ...] = DEFAULT_BETAS,
    sweeps: dict[str, tuple[str, tuple[int, ...]]] = DEFAULT_SWEEPS,
) -> list[ReportController]:
    """Several specs; labels must be unique (they key colours, legends and table rows)."""
    out = [parse_controller(t, betas, sweeps) for t in texts]
    seen: dict[str, str] = {}
    for rc, text in zip(out, texts, strict=True):
        if rc.label in seen:
            raise ControllerError(
                f"controllers {seen[rc.label]!r} and {text!r} are both labelled {rc.label!r}: "
                f"give one a label, e.g. {text}{',' if ':' in text else ':'}label=NAME"
            )
        seen[rc.label] = text
    if not out:
        raise ControllerError("no controller given")
    return out
