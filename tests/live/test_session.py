"""``LiveSession`` is a drop-in for the replay session: on the scripted model, every controller
takes the same actions at the same costs as on the replay of the chains the script implies."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import pytest

from autotts.controllers import ControllerSpec, make_solver
from autotts.data import Environment, apply_matching
from autotts.env import Session
from autotts.live import LiveError, LiveOptions, LiveSession, ModelClient, Sampler, solve_live
from autotts.live.solve import answer_mapper
from tests.scripted_server import Reply

from .conftest import INTERVAL, ITEMS, MAX_TOKENS, SETTINGS, Scripted

N_CHAINS = 8
HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SPECS = [
    ControllerSpec("sc", {"k": 5}),
    ControllerSpec("asc", {"max_samples": 8, "threshold": 0.8}),
    ControllerSpec("esc", {"max_samples": 8, "window": 2}),
    ControllerSpec("parallel_probe", {"chains": 6, "T": 2, "warm_up": 1, "prune_patience": 2}),
    ControllerSpec("cmc", beta=0.0),
    ControllerSpec("cmc", beta=0.5),
    ControllerSpec("cmc", beta=1.0),
    ControllerSpec(f"{ROOT}/examples/original_method.py:OptimalController", beta=0.4),
    ControllerSpec(f"{ROOT}/examples/quorum.py:Quorum", beta=0.6),
]


def _expected(scripted: Scripted) -> Environment:
    return scripted.model.expected_env(ITEMS, N_CHAINS, INTERVAL, MAX_TOKENS)


def _replay(env: Environment, qi: int, **kw: Any) -> Session:
    q = env.questions[qi]
    return Session(q.probes, q.tokens, q.finals, list(range(q.n_chains)), env.interval, **kw)


def _live(scripted: Scripted, qi: int, **kw: Any) -> LiveSession:
    item = ITEMS[qi]
    kw.setdefault("n_available", N_CHAINS)
    return LiveSession(scripted.sampler(), item.question, item.id, **kw)


def _run(solve: Callable[[Session], Any], session: Any) -> tuple[Any, str | None]:
    """(answer, None), or (None, the exception) when the controller raised."""
    try:
        return solve(cast(Session, session)), None
    except Exception as e:
        return None, f"{type(e).__name__}: {e}"


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: f"{Path(s.spec).name}-{s.beta}")
def test_same_actions_and_costs_as_replay(scripted: Scripted, spec: ControllerSpec) -> None:
    env = _expected(scripted)
    for qi in range(len(ITEMS)):
        replay = _replay(env, qi)
        want = _run(make_solver(spec), replay)
        with _live(scripted, qi, concurrency=4) as live:
            got = _run(make_solver(spec), live)
        assert got == want  # quorum at beta 0.6 asks for more chains than there are: both raise
        assert live.trace() == replay.trace()
        assert (live.tokens, live.sequential_tokens, live.n_probes) == (
            replay.tokens,
            replay.sequential_tokens,
            replay.n_probes,
        )
        assert [live.last_revealed(i) for i in range(live.n_open)] == [
            replay.last_revealed(i) for i in range(replay.n_open)
        ]
        assert live.generated_tokens == live.tokens + live.speculative_tokens


@pytest.mark.parametrize("concurrency", [1, 3])
def test_speculation_changes_nothing_but_the_waste(scripted: Scripted, concurrency: int) -> None:
    spec = SPECS[3]  # parallel_probe: a sweep over its chains, speculation's best case
    env = _expected(scripted)
    replay = _replay(env, 0)
    make_solver(spec)(replay)
    runs = {}
    for speculate in (False, True):
        with _live(scripted, 0, concurrency=concurrency, speculate=speculate) as live:
            make_solver(spec)(cast(Session, live))
        assert live.trace() == replay.trace()
        runs[speculate] = live
    assert runs[False].generated_tokens == runs[False].tokens  # nothing ahead of the controller
    if concurrency == 1:  # no spare slot: no speculation
        assert runs[True].generated_tokens == runs[True].tokens
    else:
        assert runs[True].speculative_tokens > 0  # parallel_probe pruned chains grown ahead
    assert scripted.model.max_in_flight <= concurrency


@pytest.mark.parametrize("kappa", [0.0, 10.0])
@pytest.mark.parametrize("budget", [700, 2500, 10**6])
def test_budget_and_probe_cost_as_replay(scripted: Scripted, kappa: float, budget: float) -> None:
    env = _expected(scripted)
    for spec in (SPECS[1], SPECS[5]):
        replay = _replay(env, 1, kappa_probe=kappa, budget=budget)
        want = _run(make_solver(spec), replay)
        with _live(scripted, 1, kappa_probe=kappa, budget=budget) as live:
            got = _run(make_solver(spec), live)
        assert got == want and live.trace() == replay.trace()
        assert live.cost == replay.cost <= budget
        # the built-ins answer within the budget; both sessions saw the same refusal
        assert live.truncated == replay.truncated == (budget != 10**6)
        assert live.remaining_budget == replay.remaining_budget == budget - replay.cost


def test_math_matching_groups_votes_as_replay(scripted: Scripted) -> None:
    env = apply_matching(_expected(scripted), "math")  # \frac{1}{2} and 0.5: one answer
    spec = ControllerSpec("asc", {"max_samples": 8, "threshold": 0.9})
    replay = _replay(env, 1)
    want = make_solver(spec)(replay)
    with _live(scripted, 1, answer_map=answer_mapper("math")) as live:
        got = make_solver(spec)(cast(Session, live))
    assert live.trace() == replay.trace()
    assert got in ("\\frac{1}{2}", "0.5") and want == "\\frac{1}{2}"  # the same group


def _script(session: Any) -> list[str]:
    """A fixed sequence of actions, valid and not, and what each gave."""
    out: list[str] = []

    def attempt(f: Callable[[], Any]) -> None:
        try:
            out.append(repr(f()))
        except Exception as e:
            out.append(f"{type(e).__name__}: {e}")

    s = session
    attempt(lambda: s.probe(0))  # nothing open
    attempt(s.branch)
    attempt(lambda: s.advance(0, 0))
    attempt(lambda: s.step(0, 2))
    attempt(lambda: s.probe_more(0))
    attempt(lambda: s.advance(5))
    attempt(lambda: s.read(-1))
    attempt(lambda: s.read(2))
    attempt(lambda: s.probe(1))  # read chains reveal their final answers
    attempt(lambda: s.advance(1))  # ... and are finished
    attempt(s.probe_new)
    attempt(lambda: s.prune(3))
    attempt(lambda: s.probe(3))
    attempt(lambda: s.prune(3))
    attempt(lambda: s.step(0, 20))  # runs to the end of the chain
    attempt(lambda: s.probe_more(0))  # a finished chain: its final answer again, for free
    attempt(s.get_new_branch_final_answer)
    attempt(lambda: s.read(N_CHAINS))
    attempt(s.live)
    attempt(lambda: [s.is_finished(i) for i in range(s.n_open)])
    attempt(lambda: [s.is_pruned(i) for i in range(s.n_open)])
    attempt(lambda: [s.chain_tokens(i) for i in range(s.n_open)])
    attempt(s.get_seq_and_total_tokens)
    attempt(lambda: s.answer(42))  # not a str
    attempt(lambda: s.answer("42"))
    attempt(lambda: s.answer("42"))
    attempt(s.branch)
    attempt(lambda: s.probe(0))
    attempt(lambda: (s.answered, s.n_open, s.cost, s.n_available, s.interval))
    return out


def test_every_action_and_refusal_as_replay(scripted: Scripted) -> None:
    env = _expected(scripted)
    replay = _replay(env, 0, kappa_probe=3.0)
    with _live(scripted, 0, kappa_probe=3.0) as live:
        assert _script(live) == _script(replay)
    assert live.trace() == replay.trace()


def test_solve_live_reports_costs_and_grades(scripted: Scripted) -> None:
    spec = ControllerSpec("cmc", beta=0.5)
    options = LiveOptions(n_chains=N_CHAINS, concurrency=3, match="math")
    result = solve_live(scripted.sampler(), ITEMS[1], spec, options)
    replay = _replay(apply_matching(_expected(scripted), "math"), 1)
    answer = make_solver(spec)(replay)
    replay.answer(answer)
    assert result.trace == replay.trace()
    assert result.correct is True and result.gold == "\\frac{1}{2}"
    assert (result.tokens, result.sequential_tokens, result.probes) == (
        replay.tokens,
        replay.sequential_tokens,
        replay.n_probes,
    )
    assert result.generated_tokens == result.tokens + result.speculative_tokens
    bodies = scripted.completions()
    assert result.requests == len(bodies)
    probe_bodies = [b for b in bodies if b["user"].endswith(":probe")]
    assert result.probe_tokens >= len([b for b in probe_bodies if "drift" not in b["prompt"]])
    assert result.error is None and not result.truncated and result.seconds > 0


def test_a_controller_error_is_reported_a_server_error_raised(scripted: Scripted) -> None:
    bad = ControllerSpec(f"{HERE}/controllers.py:BranchThenRaise")
    options = LiveOptions(n_chains=N_CHAINS)
    result = solve_live(scripted.sampler(), ITEMS[0], bad, options)
    assert result.error == "RuntimeError: a bug in the controller" and result.answer is None
    assert result.correct is None and result.tokens == INTERVAL
    assert [a.kind for a in result.trace] == ["BRANCH", "ANSWER"]

    scripted.model.fail_after = len(scripted.completions()) + 3
    with pytest.raises(LiveError, match="scripted outage"):
        solve_live(scripted.sampler(), ITEMS[0], ControllerSpec("sc", {"k": 4}), options)


def test_the_whole_public_surface_of_the_replay_session() -> None:
    """A method added to Session must be added here too, or controllers using it break live."""
    client = ModelClient("http://127.0.0.1:9/v1", "m")  # never called: nothing is asked
    with LiveSession(Sampler(client, SETTINGS), "q", "q0") as live:
        assert {n for n in dir(Session) if not n.startswith("_")} <= set(dir(live))


def test_a_failed_speculative_request_matters_only_if_needed(scripted: Scripted) -> None:
    """Chain 5 cannot be sampled (the server refuses it). A controller that opens chains 0-3
    never needs it, though speculation tries it; one that opens chain 5 fails on it."""
    model = scripted.model

    def refuse_chain_5(body: Any) -> Any:
        if body.get("user", "").startswith("autotts:q0:5"):
            return Reply(status=400, json={"error": {"message": "chain 5 is cursed"}})
        return model(body)

    scripted.server.handlers["/v1/completions"] = refuse_chain_5
    env = _expected(scripted)
    spec = ControllerSpec("parallel_probe", {"chains": 4, "T": 2, "warm_up": 1})
    replay = _replay(env, 0)
    want = make_solver(spec)(replay)
    with _live(scripted, 0, concurrency=6, prefetch=4) as live:
        assert make_solver(spec)(cast(Session, live)) == want
    assert live.trace() == replay.trace()
    assert any(b["user"].startswith("autotts:q0:5") for b in scripted.completions())
    with (
        _live(scripted, 0, concurrency=6) as live,
        pytest.raises(LiveError, match="chain 5 is cursed"),
    ):
        make_solver(ControllerSpec("sc", {"k": 6}))(cast(Session, live))
