"""Controllers: the interface, the registry, the reference baselines and discovered ones."""

from . import cmc, evolved, parallel_probe, self_consistency  # noqa: F401  (registers built-ins)
from .base import Controller, ControllerError, get_controller, register, register_as, registered
from .loading import (
    ControllerSpec,
    controller_class,
    make_solver,
    only_controller_class,
    source_controller_class,
    split_file_spec,
    uses_beta,
)
from .self_consistency import read_within_budget
from .voting import beta_confidence, leader, vote

__all__ = [
    "Controller",
    "ControllerError",
    "ControllerSpec",
    "beta_confidence",
    "controller_class",
    "get_controller",
    "leader",
    "make_solver",
    "only_controller_class",
    "read_within_budget",
    "register",
    "register_as",
    "registered",
    "source_controller_class",
    "split_file_spec",
    "uses_beta",
    "vote",
]
