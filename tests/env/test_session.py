"""The replay session against an independent model of the original evaluator's charging rules
(``replay/README.md``): random small chains, random valid and invalid action sequences.

Every probe and final answer is unique to its chain and position (``c3p1`` = chain 3's second
probe, ``c3f`` = its final answer), so each revealed answer also shows which chain the session
opened and how far it had advanced.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autotts.env import (
    Action,
    BudgetExceeded,
    EpisodeOver,
    InvalidAction,
    NoChainsLeft,
    Session,
    SessionError,
    full_read_records,
)
from autotts.evaluate import EvalSettings, new_session
from tests.builders import make_env

Chain = tuple[list[str], int, str]  # (probe answers, total tokens, final answer)
Call = tuple[Any, ...]  # (method name, *args)

FAST = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
# dyadic values: cost sums stay exact in floating point, so the budget comparison is unambiguous
KAPPAS = (0.0, 0.5, 2.25, 8.0)


def unique_chains(shape: Sequence[tuple[int, int]]) -> list[Chain]:
    """Chains with ``(number of probes, total tokens)`` shapes and answers unique per position."""
    return [
        ([f"c{j}p{m}" for m in range(n)], total, f"c{j}f") for j, (n, total) in enumerate(shape)
    ]


def make_session(
    chains: Sequence[Chain], order: Sequence[int], interval: int, **options: Any
) -> Session:
    probes = [p for p, _, _ in chains]
    tokens = [t for _, t, _ in chains]
    finals = [f for _, _, f in chains]
    return Session(probes, tokens, finals, order, interval, **options)


@st.composite
def episodes(draw: st.DrawFn, max_chains: int = 6) -> tuple[list[Chain], list[int], int]:
    """Random chains (no probes allowed; totals below, at and above probes × interval), a random
    chain order and a random interval."""
    interval = draw(st.sampled_from([1, 7, 100, 500, 999]))
    n = draw(st.integers(1, max_chains))
    shape = []
    for _ in range(n):
        n_probes = draw(st.integers(0, 5))
        total = draw(
            st.one_of(
                st.integers(0, 4000),
                st.sampled_from([n_probes * interval, max(0, n_probes * interval - 1)]),
                st.integers(0, max(0, n_probes * interval)),  # shorter than its probes
            )
        )
        shape.append((n_probes, total))
    order = draw(st.permutations(range(n)))
    return unique_chains(shape), list(order), interval


# --------------------------------------------------------------------------- the model
@dataclass
class Opened:
    source: int  # index of the chain in the question (order[k])
    advanced: int = 0  # intervals advanced, the opening one included
    finished: bool = False
    pruned: bool = False
    charged: int = 0
    seen: str | None = None


class Model:
    """The original evaluator's rules, written out step by step. Every method either returns the
    expected result (updating the model and its expected trace) or raises the exception class the
    session must raise. A primitive action (BRANCH, one CONTINUE, PROBE, a READ of k chains) that
    would exceed the budget is refused whole; the earlier primitives of a composite call stay."""

    def __init__(
        self,
        chains: Sequence[Chain],
        order: Sequence[int],
        interval: int,
        kappa: float = 0.0,
        budget: float | None = None,
    ) -> None:
        self.chains, self.order, self.interval = chains, order, interval
        self.kappa, self.budget = kappa, budget
        self.opened: list[Opened] = []
        self.trace: list[Action] = []
        self.n_probe_actions = 0
        self.over = False

    # ------------------------------------------------------------------ bookkeeping
    @property
    def tokens(self) -> int:
        return sum(a.tokens for a in self.trace)

    @property
    def cost(self) -> float:
        return self.tokens + self.kappa * self.n_probe_actions

    def _pay(self, cost: float) -> None:
        if self.budget is not None and self.cost + cost > self.budget:
            raise BudgetExceeded

    def _alive(self) -> None:
        if self.over:
            raise EpisodeOver

    def _chain(self, i: object) -> Opened:
        self._alive()
        if not isinstance(i, int) or not 0 <= i < len(self.opened):
            raise InvalidAction
        return self.opened[i]

    def _running(self, i: object) -> Opened:
        c = self._chain(i)
        if c.pruned or c.finished:
            raise InvalidAction
        return c

    def current(self, c: Opened) -> str:
        probes, _, final = self.chains[c.source]
        return final if c.finished else probes[c.advanced - 1]

    def _advance_once(self, i: int) -> bool:
        c = self.opened[i]
        probes, total, _ = self.chains[c.source]
        if c.advanced < len(probes):
            cost, finishing = self.interval, False
        else:
            cost, finishing = max(0, total - c.charged), True
        self._pay(cost)
        if finishing:
            c.finished = True
        else:
            c.advanced += 1
        c.charged += cost
        self.trace.append(Action("CONTINUE", i, cost, cost))
        return c.finished

    # ------------------------------------------------------------------ native actions
    def branch(self) -> int:
        self._alive()
        k = len(self.opened)
        if k >= len(self.order):
            raise NoChainsLeft
        probes, total, _ = self.chains[self.order[k]]
        # opening = the first advance: one interval, or the finishing charge without probes
        cost = self.interval if probes else total
        self._pay(cost)
        self.opened.append(Opened(self.order[k], 1 if probes else 0, not probes, False, cost))
        self.trace.append(Action("BRANCH", k, cost, cost))
        return k

    def advance(self, i: int, times: int = 1) -> bool:
        self._running(i)
        if times < 1:
            raise InvalidAction
        return any(self._advance_once(i) for _ in range(times))  # stops at the finish

    def probe(self, i: int) -> str:
        c = self._chain(i)
        if c.pruned:
            raise InvalidAction
        self._pay(self.kappa)
        c.seen = self.current(c)
        self.n_probe_actions += 1
        self.trace.append(Action("PROBE", i, 0, self.kappa))
        return c.seen

    def step(self, i: int, times: int = 1) -> tuple[str, bool]:
        finished = self.advance(i, times)
        return self.probe(i), finished

    def prune(self, i: int) -> None:
        self._running(i).pruned = True  # only running chains can be pruned
        self.trace.append(Action("PRUNE", i, 0, 0))

    def read(self, k: int = 1) -> list[str]:
        self._alive()
        start = len(self.opened)
        if start + k > len(self.order):
            raise NoChainsLeft
        sources = self.order[start : start + k]
        self._pay(sum(self.chains[j][1] for j in sources))
        out = []
        for n, j in enumerate(sources):
            probes, total, final = self.chains[j]
            self.opened.append(Opened(j, len(probes), True, False, total, final))
            self.trace.append(Action("READ", start + n, total, total))
            out.append(final)
        return out

    def answer(self, answer: str | None) -> None:
        self._alive()
        self.over = True
        self.trace.append(Action("ANSWER", -1, 0, 0))

    # ------------------------------------------------------------------ compatibility surface
    def probe_new(self) -> tuple[str, int, bool]:
        i = self.branch()
        return self.probe(i), i, self.opened[i].finished

    def probe_more(self, i: int) -> tuple[str, bool]:
        c = self._chain(i)
        if c.pruned:
            raise InvalidAction
        if not c.finished:
            self._advance_once(i)
        return self.probe(i), c.finished

    def get_new_branch_final_answer(self) -> str:
        return self.read(1)[0]

    def get_seq_and_total_tokens(self) -> tuple[int, int]:
        return max((c.charged for c in self.opened), default=0), self.tokens


def snapshot(s: Session) -> tuple[Any, ...]:
    """Everything observable about a session without taking an action (observations keep
    working after the answer)."""
    chains = tuple(
        (s.is_finished(i), s.is_pruned(i), s.chain_tokens(i), s.last_revealed(i))
        for i in range(s.n_open)
    )
    return (s.trace(), s.tokens, s.cost, s.n_probes, s.n_open, s.live(), chains, s.answered)


def run_both(model: Model, session: Session, call: Call) -> None:
    """Apply ``call`` to both; the session must return or raise what the model says, and on a
    refusal (invalid action, budget) nothing observable may change."""
    name, *args = call
    expected_error: type[SessionError] | None = None
    expected: Any = None
    trace_before = list(model.trace)
    try:
        expected = getattr(model, name)(*args)
    except SessionError as e:
        expected_error = type(e)
    before = snapshot(session)
    try:
        got = getattr(session, name)(*args)
    except SessionError as e:
        assert expected_error is not None, f"{call}: unexpected {type(e).__name__}: {e}"
        assert isinstance(e, expected_error), f"{call}: {type(e).__name__}, not {expected_error}"
        if expected_error is not BudgetExceeded or model.trace == trace_before:
            assert snapshot(session) == before, f"{call} was refused but changed the session"
    else:
        assert expected_error is None, f"{call}: expected {expected_error.__name__}"
        assert got == expected, call
    check_against_model(model, session)


def check_against_model(model: Model, s: Session) -> None:
    assert s.trace() == model.trace
    assert s.n_open == len(model.opened)
    assert s.n_probes == model.n_probe_actions
    for i, c in enumerate(model.opened if s.answered is None else ()):
        assert s.chain_tokens(i) == c.charged, i
        assert s.is_finished(i) == c.finished, i  # (only running chains can be pruned)
        assert s.is_pruned(i) == c.pruned, i
        assert s.last_revealed(i) == c.seen, i
    assert s.live() == [i for i, c in enumerate(model.opened) if not (c.finished or c.pruned)]
    check_accounting(s, model.chains, model.order, model.interval)


def check_accounting(
    s: Session, chains: Sequence[Chain], order: Sequence[int], interval: int
) -> None:
    """The invariants stated in closed form, from the trace alone."""
    trace = s.trace()
    assert s.tokens == sum(a.tokens for a in trace)
    probes_taken = sum(a.kind == "PROBE" for a in trace)
    assert s.n_probes == probes_taken
    assert s.cost == s.tokens + s.kappa_probe * probes_taken
    assert s.cost == pytest.approx(sum(a.cost for a in trace))
    per_chain = [0] * s.n_open
    advances = [0] * s.n_open  # BRANCH + CONTINUE actions per chain
    read = [False] * s.n_open
    for a in trace:
        if a.kind == "ANSWER":
            assert (a.chain, a.tokens) == (-1, 0)
            continue
        advances[a.chain] += a.kind in ("BRANCH", "CONTINUE")
        read[a.chain] |= a.kind == "READ"
        per_chain[a.chain] += a.tokens
    for i in range(s.n_open):
        probes, total, _ = chains[order[i]]
        if s.answered is None:
            assert s.chain_tokens(i) == per_chain[i]
        if read[i]:
            expected = total
        else:
            # interval per advance up to the last probe, then the rest of the chain (if any)
            expected = interval * min(advances[i], len(probes))
            if advances[i] > len(probes):
                assert advances[i] == len(probes) + 1  # nothing after the finishing advance
                expected += max(0, total - interval * len(probes))
            if s.answered is None and not s.is_pruned(i):
                assert s.is_finished(i) == (advances[i] > len(probes))
        assert per_chain[i] == expected, (i, advances[i], probes, total, interval)
    assert s.sequential_tokens == max(per_chain, default=0)
    assert s.get_seq_and_total_tokens() == (max(per_chain, default=0), s.tokens)


# --------------------------------------------------------------------------- random play
Draw = Callable[[st.SearchStrategy[Any]], Any]
BAD_INDEX = (-1, -3, 10_000)


def draw_call(draw: Draw, m: Model, invalid: bool) -> Call:
    """A random call; valid for the model's state unless ``invalid``."""
    n_open, n_left = len(m.opened), len(m.order) - len(m.opened)
    running = [i for i, c in enumerate(m.opened) if not (c.finished or c.pruned)]
    unpruned = [i for i, c in enumerate(m.opened) if not c.pruned]
    if invalid:
        frozen = [i for i, c in enumerate(m.opened) if c.finished or c.pruned]
        pruned = [i for i, c in enumerate(m.opened) if c.pruned]
        bad = [*BAD_INDEX, n_open]
        options: list[Call] = [("branch",) if not n_left else ("read", n_left + 1)]
        options += (
            [("read", n_left + draw(st.integers(1, 3))), ("probe_new",)] if not n_left else []
        )
        options += [("advance", draw(st.sampled_from(bad + frozen)), draw(st.integers(1, 3)))]
        options += [("step", draw(st.sampled_from(bad + frozen)), draw(st.integers(1, 3)))]
        options += [(name, draw(st.sampled_from(bad + pruned))) for name in ("probe", "prune")]
        options += [("probe_more", draw(st.sampled_from(bad + pruned)))]
        return draw(st.sampled_from(options))
    options = []
    if n_left:
        options += [("branch",), ("probe_new",), ("get_new_branch_final_answer",)]
        options += [("read", draw(st.integers(0, n_left)))]
    if running:
        i = draw(st.sampled_from(running))
        times = draw(st.integers(1, 4))
        options += [("advance", i, times), ("step", i, times), ("probe_more", i)] * 3
    if unpruned:
        i = draw(st.sampled_from(unpruned))
        options += [("probe", i), ("prune", i), ("probe_more", i)]
    options += [("get_seq_and_total_tokens",)]
    return draw(st.sampled_from(options))


def play_random(data: st.DataObject, m: Model, s: Session, steps: int) -> list[Call]:
    calls = []
    for _ in range(steps):
        invalid = data.draw(st.integers(0, 5)) == 0
        calls.append(draw_call(data.draw, m, invalid))
        run_both(m, s, calls[-1])
    return calls


def outcomes(s: Session, calls: Sequence[Call]) -> list[Any]:
    """What each call returned, or the class of what it raised."""
    out: list[Any] = []
    for name, *args in calls:
        try:
            out.append(getattr(s, name)(*args))
        except SessionError as e:
            out.append(type(e))
    return out


@FAST
@given(episodes(), st.sampled_from(KAPPAS), st.integers(0, 40), st.data())
def test_random_actions_follow_the_charging_rules(
    episode: tuple[list[Chain], list[int], int], kappa: float, steps: int, data: st.DataObject
) -> None:
    chains, order, interval = episode
    s = make_session(chains, order, interval, kappa_probe=kappa)
    m = Model(chains, order, interval, kappa)
    calls = play_random(data, m, s, steps)
    # sessions sharing precomputed full-read records (as the runner's do) play the same way and
    # do not leak state into each other
    fresh = outcomes(make_session(chains, order, interval, kappa_probe=kappa), calls)
    shared = full_read_records(*zip(*chains, strict=True))
    for _ in range(2):
        twin = make_session(chains, order, interval, kappa_probe=kappa, read_records=shared)
        assert outcomes(twin, calls) == fresh
        assert twin.trace() == s.trace()
    run_both(m, s, ("answer", "x"))
    # after the answer everything is refused
    for call in [("branch",), ("read", 0), ("answer", "y"), ("probe_new",)] + [
        (name, i) for i in range(len(m.opened)) for name in ("advance", "probe", "prune", "step")
    ]:
        run_both(m, s, call)
    assert s.answered == "x"


@FAST
@given(episodes(), st.sampled_from(KAPPAS), st.integers(0, 30), st.data())
def test_budget_refuses_an_action_whole(
    episode: tuple[list[Chain], list[int], int], kappa: float, steps: int, data: st.DataObject
) -> None:
    chains, order, interval = episode
    budget = data.draw(st.integers(0, 6000)) + data.draw(st.sampled_from([0, 0.5]))
    s = make_session(chains, order, interval, kappa_probe=kappa, budget=budget)
    m = Model(chains, order, interval, kappa, budget)
    play_random(data, m, s, steps)
    assert s.cost <= budget


@FAST
@given(episodes(), st.sampled_from(KAPPAS), st.integers(0, 30), st.data())
def test_an_unreachable_budget_changes_nothing(
    episode: tuple[list[Chain], list[int], int], kappa: float, steps: int, data: st.DataObject
) -> None:
    """The same calls with ``budget=None`` and a budget never reached behave identically."""
    chains, order, interval = episode
    free = make_session(chains, order, interval, kappa_probe=kappa)
    capped = make_session(chains, order, interval, kappa_probe=kappa, budget=1e12)
    m = Model(chains, order, interval, kappa)
    for _ in range(steps):
        call = draw_call(data.draw, m, invalid=data.draw(st.integers(0, 5)) == 0)
        outcomes = []
        for s in (free, capped):
            try:
                outcomes.append(getattr(s, call[0])(*call[1:]))
            except SessionError as e:
                outcomes.append(type(e))
        assert outcomes[0] == outcomes[1], call
        with contextlib.suppress(SessionError):
            getattr(m, call[0])(*call[1:])
        assert snapshot(free) == snapshot(capped), call


# --------------------------------------------------------------------------- surfaces agree
@st.composite
def compat_calls(draw: st.DrawFn, n_chains: int) -> list[Call]:
    calls: list[Call] = []
    opened = 0
    for _ in range(draw(st.integers(0, 30))):
        options: list[Call] = []
        if opened < n_chains:
            options += [("probe_new",), ("get_new_branch_final_answer",)]
        if opened:
            options += [("probe_more", draw(st.integers(0, opened - 1)))] * 4
        options.append(("get_seq_and_total_tokens",))
        call = draw(st.sampled_from(options))
        opened += call[0] in ("probe_new", "get_new_branch_final_answer")
        calls.append(call)
    return calls


def native(s: Session, call: Call) -> Any:
    """The compatibility call done with native actions."""
    name, *args = call
    if name == "probe_new":
        i = s.branch()
        return s.probe(i), i, s.is_finished(i)
    if name == "probe_more":
        (i,) = args
        if s.is_finished(i):
            return s.probe(i), True
        return s.step(i)
    if name == "get_new_branch_final_answer":
        return s.read(1)[0]
    return s.sequential_tokens, s.tokens


@FAST
@given(episodes(), st.sampled_from(KAPPAS), st.data())
def test_native_and_compatibility_surfaces_agree(
    episode: tuple[list[Chain], list[int], int], kappa: float, data: st.DataObject
) -> None:
    chains, order, interval = episode
    calls = data.draw(compat_calls(len(chains)))
    a = make_session(chains, order, interval, kappa_probe=kappa)
    b = make_session(chains, order, interval, kappa_probe=kappa)
    m = Model(chains, order, interval, kappa)
    for call in calls:
        got = getattr(a, call[0])(*call[1:])
        assert got == native(b, call) == getattr(m, call[0])(*call[1:]), call
        assert a.trace() == b.trace() == m.trace
        assert a.get_seq_and_total_tokens() == b.get_seq_and_total_tokens()
        assert a.cost == b.cost


@FAST
@given(episodes(max_chains=3), st.integers(0, 4))
def test_finished_chains_cost_nothing_more(
    episode: tuple[list[Chain], list[int], int], extra: int
) -> None:
    """Fully advanced: max(total, interval × probes); fully read: total; more compat advances of a
    finished chain charge nothing (and return its final answer)."""
    chains, order, interval = episode
    s = make_session(chains, order, interval)
    for k, j in enumerate(order):
        probes, total, final = chains[j]
        assert s.probe_new() == (probes[0] if probes else final, k, not probes)
        while not s.is_finished(k):
            s.probe_more(k)
        assert s.chain_tokens(k) == max(total, interval * len(probes))
        before = s.tokens
        for _ in range(extra):
            assert s.probe_more(k) == (final, True)
        assert s.tokens == before
        with pytest.raises(InvalidAction):
            s.advance(k)
        with pytest.raises(InvalidAction):
            s.step(k)
        assert s.tokens == before
    reader = make_session(chains, order, interval)
    assert reader.read(len(order)) == [chains[j][2] for j in order]
    assert [reader.chain_tokens(k) for k in range(len(order))] == [chains[j][1] for j in order]


@FAST
@given(episodes())
def test_branch_k_opens_order_k(episode: tuple[list[Chain], list[int], int]) -> None:
    chains, order, interval = episode
    s = make_session(chains, order, interval)
    for k, j in enumerate(order):
        probes, _, final = chains[j]
        if k % 2:
            assert s.read(1) == [final]
        else:
            assert s.branch() == k
            assert s.probe(k) == (probes[0] if probes else final)
    with pytest.raises(NoChainsLeft):
        s.branch()


# --------------------------------------------------------------------------- refusals
def small_session(budget: float | None = None, kappa: float = 0.0) -> Session:
    # chain 0: 3 probes, 2000 tokens; chain 1: 1 probe, 300 tokens (shorter than its probe);
    # chain 2: no probes, 700 tokens
    chains = unique_chains([(3, 2000), (1, 300), (0, 700)])
    return make_session(chains, [0, 1, 2], 500, kappa_probe=kappa, budget=budget)


@pytest.mark.parametrize("action", ["advance", "step"])
def test_advancing_unopened_pruned_or_finished_chains_is_invalid(action: str) -> None:
    s = small_session()
    with pytest.raises(InvalidAction):
        getattr(s, action)(0)  # not opened yet
    s.branch()
    s.branch()
    s.prune(0)
    s.advance(1)  # finishes chain 1
    assert s.is_finished(1)
    for i in (0, 1, 2, -1):  # pruned, finished, unopened, negative
        before = snapshot(s)
        with pytest.raises(InvalidAction):
            getattr(s, action)(i)
        assert snapshot(s) == before
    with pytest.raises(InvalidAction):
        s.probe(0)
    with pytest.raises(InvalidAction):
        s.prune(0)
    with pytest.raises(InvalidAction):
        s.probe_more(0)


@pytest.mark.parametrize("action", ["probe", "prune", "probe_more", "is_finished", "chain_tokens"])
@pytest.mark.parametrize("index", [-1, -2, 1, 5])
def test_bad_indices_are_invalid(action: str, index: int) -> None:
    s = small_session()
    s.branch()
    with pytest.raises(InvalidAction):
        getattr(s, action)(index)


def test_running_out_of_chains() -> None:
    s = small_session()
    s.branch()
    with pytest.raises(NoChainsLeft):
        s.read(3)
    assert s.read(2) == ["c1f", "c2f"]
    for call in (s.branch, s.probe_new, s.get_new_branch_final_answer):
        with pytest.raises(NoChainsLeft):
            call()
    with pytest.raises(NoChainsLeft):
        s.read(1)
    assert s.read(0) == []
    assert s.tokens == 500 + 300 + 700


@pytest.mark.parametrize(
    "call",
    [
        ("branch",),
        ("read", 1),
        ("read", 0),
        ("advance", 0),
        ("step", 0),
        ("probe", 0),
        ("prune", 0),
        ("probe_new",),
        ("probe_more", 0),
        ("get_new_branch_final_answer",),
        ("answer", "again"),
    ],
)
def test_actions_after_the_answer_raise_episode_over(call: Call) -> None:
    s = small_session()
    s.branch()
    s.answer("a")
    before = snapshot(s)
    with pytest.raises(EpisodeOver):
        getattr(s, call[0])(*call[1:])
    assert snapshot(s) == before


def test_budget_refusal_leaves_the_chain_as_it_was() -> None:
    s = small_session(budget=1200)
    assert s.step(s.branch()) == ("c0p1", False)  # 1000 tokens
    with pytest.raises(BudgetExceeded):
        s.advance(0)  # 1500 > 1200
    assert (s.probe(0), s.is_finished(0), s.chain_tokens(0), s.tokens) == (
        "c0p1",
        False,
        1000,
        1000,
    )
    s = small_session(budget=1600)
    s.advance(s.branch(), 2)
    assert s.probe(0) == "c0p2"
    with pytest.raises(BudgetExceeded):  # finishing costs the remaining 500 tokens
        s.advance(0)
    assert (s.probe(0), s.is_finished(0), s.live(), s.tokens) == ("c0p2", False, [0], 1500)
    with pytest.raises(BudgetExceeded):  # the same through step: the advance is refused first
        s.step(0)
    assert (s.probe(0), s.is_finished(0), s.tokens) == ("c0p2", False, 1500)
    s = small_session(budget=10, kappa=4.0)
    with pytest.raises(BudgetExceeded):
        s.branch()
    with pytest.raises(BudgetExceeded):
        s.read(1)
    assert (s.n_open, s.trace()) == (0, [])


def test_probes_are_charged_kappa_against_the_budget() -> None:
    s = small_session(budget=1008, kappa=4.0)
    s.step(s.branch())  # 1000 tokens + 4
    assert s.cost == 1004
    s.probe(0)
    assert s.cost == 1008
    with pytest.raises(BudgetExceeded):
        s.probe(0)
    assert (s.cost, s.n_probes, s.tokens) == (1008, 2, 1000)


# --------------------------------------------------------------------------- step(i, 0) & co.
@pytest.mark.parametrize("budget", [None, 1e12])
@pytest.mark.parametrize("action", ["advance", "step"])
def test_zero_times_is_refused_and_changes_nothing(action: str, budget: float | None) -> None:
    s = small_session(budget=budget)
    s.branch()
    before = snapshot(s)
    with pytest.raises(InvalidAction, match="count >= 1"):
        getattr(s, action)(0, 0)
    assert snapshot(s) == before


def test_pruning_a_finished_chain_is_refused() -> None:
    s = small_session()
    i = s.branch()
    while not s.advance(i):
        pass
    with pytest.raises(InvalidAction, match="finished"):
        s.prune(i)
    assert s.is_finished(i) and not s.is_pruned(i)


@pytest.mark.parametrize("action", ["advance", "step", "probe", "prune", "probe_more"])
@pytest.mark.parametrize("index", [1.5, "0", None])
@pytest.mark.parametrize("budget", [None, 1e12])
def test_non_integer_indices_are_invalid(action: str, index: Any, budget: float | None) -> None:
    s = small_session(budget=budget)
    s.branch()
    with pytest.raises(InvalidAction):
        getattr(s, action)(index)


# --------------------------------------------------------------------------- the gold answer
GOLD = "GOLD-appears-in-no-chain"


def contains(obj: object, needle: str, depth: int = 0) -> bool:
    if isinstance(obj, str):
        return needle in obj
    if depth > 6:
        return False
    if isinstance(obj, dict):
        return any(
            contains(k, needle, depth + 1) or contains(v, needle, depth + 1) for k, v in obj.items()
        )
    if isinstance(obj, (list, tuple, set, frozenset)):
        return any(contains(x, needle, depth + 1) for x in obj)
    return False


def test_the_session_never_sees_the_gold_answer() -> None:
    params = inspect.signature(Session).parameters
    assert not [p for p in params if "gold" in p.lower()]
    chains = unique_chains([(3, 2000), (1, 300), (0, 700)])
    env = make_env([(chains, GOLD)])
    s = new_session(env, 0, [2, 0, 1], EvalSettings())
    s.read(1)
    s.step(s.branch())
    slots = [n for cls in type(s).__mro__ for n in getattr(cls, "__slots__", ())]
    values = [getattr(s, n) for n in slots if hasattr(s, n)] + list(
        getattr(s, "__dict__", {}).values()
    )
    assert values, "nothing inspected"
    assert not any(contains(v, GOLD) for v in values)
    assert not any(contains(getattr(s, n, None), GOLD) for n in dir(s) if not n.startswith("__"))


@pytest.mark.parametrize("budget", [None, 1e12])
@pytest.mark.parametrize("times", [1.5, "2", True])
@pytest.mark.parametrize("action", ["advance", "step"])
def test_non_integer_counts_are_refused(action: str, times: Any, budget: float | None) -> None:
    s = small_session(budget=budget)
    s.branch()
    before = snapshot(s)
    with pytest.raises(InvalidAction, match="count >= 1"):
        getattr(s, action)(0, times)
    assert snapshot(s) == before


def test_reading_a_non_integer_count_is_refused() -> None:
    s = small_session()
    with pytest.raises(InvalidAction, match="whole number"):
        s.read(1.0)  # type: ignore[arg-type]
    assert s.n_open == 0


@pytest.mark.parametrize("budget", [None, 1e12])
def test_answering_none_still_ends_the_episode(budget: float | None) -> None:
    s = small_session(budget=budget)
    s.branch()
    s.answer(None)
    with pytest.raises(EpisodeOver):
        s.step(0)
    with pytest.raises(EpisodeOver):
        s.branch()


class _EqualToEverything:
    def __eq__(self, other: object) -> bool:
        return True

    __hash__ = object.__hash__


def test_answering_a_non_string_is_refused() -> None:
    """An object equal to everything must not be able to pass for the gold answer."""
    s = small_session()
    s.branch()
    with pytest.raises(InvalidAction, match="must be a str"):
        s.answer(_EqualToEverything())  # type: ignore[arg-type]
    assert s.answered is None


def test_the_evaluator_counts_a_forged_answer_as_an_error() -> None:
    from autotts.evaluate.runner import play

    s = small_session()

    def forge(session: Any) -> str:
        session.answer(_EqualToEverything())
        return "x"

    answer, error, _ = play(s, forge)
    assert answer is None and error is not None and "must be a str" in error
