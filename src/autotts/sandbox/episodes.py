"""The one job the sandbox child runs for a candidate class: describe it, or play episodes.

Fast mode plays every episode on local sessions over the gold-free environments and streams,
per question, the answers, its own claim of each episode's cost and sequential tokens, and the
packed action logs. Strict mode plays them on :class:`~.proxy.ProxySession` objects whose
actions the parent's sessions carry out: the chains are never in this process. Either way the
parent believes none of it until it has replayed or played it itself.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from ..controllers import Controller, ControllerSpec, make_solver, register_as
from ..data import Environment
from ..env import full_read_records, log_codes, pack_codes
from ..evaluate import EvalSettings, Protocol, new_session, play
from .loader import describe
from .outcome import Rejection
from .wire import (
    DONE,
    EPISODE,
    HEARTBEAT,
    HEARTBEAT_KIND,
    RESULTS,
    DescribeRequest,
    EpisodesRequest,
    frame,
    json_frame,
    write_all,
)


def knob_problems(cls: type) -> list[str]:
    """Ways a candidate class breaks the one-knob part of the beta contract."""
    if not (isinstance(cls, type) and issubclass(cls, Controller)):
        return ["the class must subclass autotts.controllers.Controller"]
    problems = []
    if not cls.uses_beta:
        problems.append("uses_beta must be True: beta is the one knob")
    if cls.defaults:
        names = ", ".join(sorted(cls.defaults))
        problems.append(f"exposes parameters besides beta ({names}); derive them in schedule")
    if cls.schedule is Controller.schedule:
        problems.append("schedule(beta) is not defined: it must return every internal setting")
    return problems


def validate_schedule(controller_cls: type, betas: Sequence[float | None]) -> str | None:
    """The first problem with ``schedule(beta)`` over ``betas``, as one line, or None. A beta
    controller's schedule must return a mapping of finite numbers, bools or strings (by
    string keys) for every beta. Exceptions raised by ``schedule`` propagate."""
    if not (issubclass(controller_cls, Controller) and controller_cls.uses_beta):
        return None
    for beta in (b for b in betas if b is not None):
        where = f"schedule({beta:g})"
        settings = controller_cls.schedule(beta)
        if not isinstance(settings, Mapping):
            return f"{where} returned {type(settings).__name__}, not a mapping"
        for key, value in settings.items():
            if not isinstance(key, str):
                return f"{where} returned the non-string key {key!r:.40}"
            if isinstance(value, str):
                continue
            if not isinstance(value, numbers.Real):
                kind = type(value).__name__
                return f"{where} returned {kind} for {key!r} (expected numbers, bools, strings)"
            if not math.isfinite(float(value)):
                return f"{where} returned {float(value)!r} for {key!r} (settings must be finite)"
    return None


def check_schedules(cls: type, betas: Sequence[float | None]) -> None:
    """Raise :class:`Rejection` (``invalid``, or ``error`` with the candidate's line) unless
    ``schedule(beta)`` gives valid settings at every beta."""
    for beta in (b for b in betas if b is not None):
        try:
            problem = validate_schedule(cls, [beta])
        except MemoryError:
            raise
        except Exception as e:
            raise Rejection("error", describe(e, f"schedule({beta:g}) raised ")) from e
        if problem:
            raise Rejection("invalid", problem)


def checked_controller(cls: type, name: str) -> str:
    """Register ``cls`` for the evaluator under ``name`` behind a trusted wrapper; returns the
    name to put in a :class:`ControllerSpec`. The wrapper builds ``cls`` exactly as
    ``make_solver`` would and turns running out of memory in ``solve`` into the end of the run
    (status ``memory``) instead of a per-episode error."""
    inner = register_as(f"{name} (candidate)", cls)

    class Checked(Controller):
        def __init__(self, beta: float | None = None, **params: Any) -> None:
            self.beta, self.settings = beta, dict(params)
            self._solve = make_solver(ControllerSpec(inner, params, beta))

        def solve(self, session: Any) -> Any:
            try:
                return self._solve(session)
            except MemoryError:
                raise Rejection("memory", "ran out of memory in solve()") from None

    return register_as(name, Checked)


def describe_class(cls: type, req: DescribeRequest) -> dict[str, Any]:
    """``{"controller", "uses_beta", "defaults", "knob_problems"}``; the schedule is checked at
    ``req.betas`` (a bad one ends the run as ``invalid``)."""
    if not (isinstance(cls, type) and issubclass(cls, Controller)):
        return {
            "controller": False,
            "uses_beta": None,
            "defaults": {},
            "knob_problems": knob_problems(cls),
        }
    check_schedules(cls, req.betas)
    defaults = {
        str(k): v if isinstance(v, (bool, int, float, str)) or v is None else repr(v)
        for k, v in dict(cls.defaults).items()
    }
    return {
        "controller": True,
        "uses_beta": bool(cls.uses_beta),
        "defaults": defaults,
        "knob_problems": knob_problems(cls) if req.contract else [],
    }


def run(
    cls: type, req: EpisodesRequest, envs: Sequence[Environment], out: int, control: int
) -> dict[str, Any]:
    """Play the request's episodes, streaming frames to ``out``; returns the final data."""
    if req.contract:
        problems = knob_problems(cls)
        if problems:
            return {"knob_problems": problems}
    check_schedules(cls, req.betas)
    name = checked_controller(cls, req.name)
    specs = [ControllerSpec(name, dict(req.params), beta) for beta in req.betas]
    for spec in specs:
        make_solver(spec)  # a class that cannot be built fails once, up front
    if req.strict:
        _run_strict(specs, out, control)
    else:
        _run_fast(specs, req, envs, out)
    return {"knob_problems": []}


def _run_fast(
    specs: Sequence[ControllerSpec], req: EpisodesRequest, envs: Sequence[Environment], out: int
) -> None:
    r = req.run
    # the environments were matched by the parent: exact here
    rs = EvalSettings(Protocol(r.protocol, r.replicates, r.seed), "exact", r.kappa_probe, r.budget)
    pack_heartbeat = HEARTBEAT.pack
    for ei, env in enumerate(envs):
        for bj, spec in enumerate(specs):
            for qi, q in enumerate(env.questions):
                reads = full_read_records(q.probes, q.tokens, q.finals)
                answers: list[str | None] = []
                errors: list[str | None] = []
                truncated: list[bool] = []
                cost: list[float] = []
                sequential: list[int] = []
                lengths: list[int] = []
                codes: list[int] = []
                for rep, order in enumerate(rs.protocol.orders(qi, q.n_chains)):
                    write_all(out, frame(HEARTBEAT_KIND, pack_heartbeat(ei, bj, qi, rep)))
                    s = new_session(env, qi, order, rs, reads)
                    answer, error, trunc = play(s, make_solver(spec))
                    answers.append(answer)
                    errors.append(error)
                    truncated.append(trunc)
                    cost.append(s.cost)
                    sequential.append(s.sequential_tokens)
                    episode_codes = log_codes(s)
                    lengths.append(len(episode_codes))
                    codes += episode_codes
                width, packed = pack_codes(codes)
                header = {
                    "env": ei,
                    "beta": bj,
                    "question": qi,
                    "answers": answers,
                    "errors": errors,
                    "truncated": truncated,
                    "cost": cost,
                    "sequential": sequential,
                    "lengths": lengths,
                    "width": width,
                }
                write_all(out, _results_frame(header, packed))


def _results_frame(header: dict[str, Any], body: bytes) -> bytes:
    import json

    text = json.dumps(header, separators=(",", ":")).encode()
    return frame(RESULTS, len(text).to_bytes(4, "big") + text + body)


def _run_strict(specs: Sequence[ControllerSpec], out: int, control: int) -> None:
    """Play the blocks the parent sends: one question's replicates at a time, each episode in
    a greenlet on a :class:`~.proxy.ProxySession`; all their pending actions go out as one
    batch and the replies resume them, until every episode has answered."""
    import json

    from greenlet import getcurrent, greenlet

    from .proxy import Channel, ProxySession

    channel = Channel(out, control)
    hub = getcurrent()
    while True:
        kind, payload = channel.read_frame()
        if kind == DONE:
            return
        if kind != EPISODE:
            raise Rejection("error", "the parent sent an unexpected frame")
        block = json.loads(payload)
        write_all(
            out, frame(HEARTBEAT_KIND, HEARTBEAT.pack(0, block["beta"], block["question"], 0))
        )
        spec = specs[block["beta"]]

        def episode(
            i: int, block: dict[str, Any] = block, spec: ControllerSpec = spec
        ) -> tuple[str, int, str | None, bool]:
            s = ProxySession(block["n_chains"], block["interval"], block["kappa_probe"],
                             block["budget"])  # fmt: skip
            s.attach(lambda action: hub.switch(("act", i, action)))
            _, error, truncated = play(s, make_solver(spec))
            return ("done", i, error, truncated)

        lets = [greenlet(functools.partial(episode, i)) for i in range(block["replicates"])]
        requests = [g.switch() for g in lets]  # each runs to its first action, or to its end
        while True:
            acting = [r for r in requests if r[0] == "act"]
            if not acting:
                break
            replies = channel.send_actions([[r[1], r[2]] for r in acting])
            for r, reply in zip(acting, replies, strict=True):
                requests[r[1]] = lets[r[1]].switch(reply)
        ends = sorted(requests, key=lambda r: r[1])
        result = {"errors": [r[2] for r in ends], "truncated": [r[3] for r in ends]}
        write_all(out, json_frame(RESULTS, result))
