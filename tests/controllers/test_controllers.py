"""The built-in controllers on tiny hand-built environments whose outcome is worked out by hand
(ALGORITHMS.md), the vote and confidence helpers, and a conformance check run over every
registered controller."""

from __future__ import annotations

import random
from collections.abc import Sequence
from numbers import Real
from typing import Any

import pytest
from scipy.special import betainc

from autotts.controllers import (
    Controller,
    ControllerError,
    ControllerSpec,
    beta_confidence,
    get_controller,
    leader,
    make_solver,
    registered,
    vote,
)
from autotts.data import Environment
from autotts.env import Action, Session
from autotts.evaluate import Protocol, evaluate
from tests.builders import Chain, make_env
from tests.controllers.synthetic import synthetic_env

INTERVAL = 500


def session(chains: Sequence[Chain], order: Sequence[int] | None = None) -> Session:
    """A session that opens the chains in the given order (default: as listed)."""
    probes = [list(p) for p, _, _ in chains]
    tokens = [t for _, t, _ in chains]
    finals = [f for _, _, f in chains]
    return Session(probes, tokens, finals, list(order or range(len(chains))), INTERVAL)


def solve(
    name: str, chains: Sequence[Chain], beta: float | None = None, /, **params: Any
) -> tuple[Any, Session]:
    s = session(chains)
    return make_solver(ControllerSpec(name, params, beta))(s), s


def full(answer: str, tokens: int = 1000) -> Chain:
    """A chain read whole (only its final answer and length matter)."""
    return ([answer] * (tokens // INTERVAL), tokens, answer)


def reads(s: Session) -> int:
    return sum(a.kind == "READ" for a in s.trace())


# --------------------------------------------------------------------------- majority
def majority_env() -> Environment:
    """10 chains: 8 finish at "7" (2000 tokens, probes ERR, 5, 7, 7), 2 at "3" (longer, 4200
    tokens, probing "3" throughout). Any sensible controller answers "7" under every order."""
    sevens: list[Chain] = [(["ERR", "5", "7", "7"], 2000, "7")] * 8
    threes: list[Chain] = [(["ERR"] + ["3"] * 7, 4200, "3")] * 2
    chains = sevens[:3] + threes[:1] + sevens[3:6] + threes[1:] + sevens[6:]
    return make_env([(chains, "7"), (list(reversed(chains)), "7")], interval=INTERVAL)


MAJORITY_CASES = [
    ("sc", None, {"k": 10}),
    ("asc", None, {"max_samples": 10}),
    ("esc", None, {"max_samples": 10, "window": 5}),
    ("parallel_probe", None, {}),
    ("parallel_probe", None, {"T": 40, "prune_patience": 7, "warm_up": 15}),
    ("parallel_probe", None, {"T": 2, "prune_patience": 1, "warm_up": 0}),
    *[("cmc", b, {}) for b in (0.0, 0.2, 0.5, 0.8, 1.0)],
]


@pytest.mark.parametrize(("name", "beta", "params"), MAJORITY_CASES)
def test_the_majority_answer_wins(name: str, beta: float | None, params: dict[str, Any]) -> None:
    (result,) = evaluate(
        [majority_env()],
        ControllerSpec(name, params),
        [beta],
        protocol=Protocol("subsample", replicates=25, seed=3),
    )
    assert (result.errors, result.error_examples) == (0, ())
    assert result.accuracy == 100.0


# --------------------------------------------------------------------------- votes
def test_vote_and_leader_break_ties_by_first_seen() -> None:
    assert vote(["3", "7", "7", "3"]) == "3"
    assert vote(["7", "3", "3", "7"]) == "7"
    assert vote(["ERR", "ERR", "7"]) == "ERR"  # ERR is an ordinary answer
    assert vote(iter(["b", "a", "a"])) == "a"
    assert vote([]) is None
    assert leader({}) == (None, 0, 0)
    assert leader({"x": 4}) == ("x", 4, 0)
    assert leader({"a": 2, "b": 2, "c": 1}) == ("a", 2, 2)
    assert leader({"b": 1, "a": 3, "c": 3}) == ("a", 3, 3)
    assert leader({"b": 1, "a": 2, "c": 3}) == ("c", 3, 2)
    assert leader({"c": 3, "a": 2, "b": 1}) == ("c", 3, 2)


@pytest.mark.parametrize("seed", range(20))
def test_vote_matches_counter_most_common(seed: int) -> None:
    from collections import Counter

    rng = random.Random(seed)
    answers = [rng.choice("abcd") for _ in range(rng.randint(1, 12))]
    counts = Counter(answers).most_common()
    assert vote(answers) == counts[0][0]
    top2 = counts[1][1] if len(counts) > 1 else 0
    assert leader(dict(Counter(answers))) == (counts[0][0], counts[0][1], top2)


@pytest.mark.parametrize(("finals", "winner"), [("3773", "3"), ("7337", "7"), ("3377", "3")])
def test_sc_ties_go_to_the_first_read(finals: str, winner: str) -> None:
    assert solve("sc", [full(a) for a in finals], k=4)[0] == winner


def test_parallel_probe_ties_go_to_the_first_opened() -> None:
    chains = [(["b"], 500, "b"), (["a"], 500, "a")]
    assert solve("parallel_probe", chains, chains=2)[0] == "b"
    assert solve("parallel_probe", chains[::-1], chains=2)[0] == "a"


def test_cmc_ties_go_to_the_first_completed() -> None:
    # beta 0: n_init = max_chains = 2 here, min_complete = 2, conf_threshold 0.85.
    # The "y" chain completes in step 0 (pool y: conf 0.75), the "x" chain at step 2 (pool
    # y, x: conf 0.5); the EMA never reaches 0.85, the loop ends with both chains done and the
    # tied pool goes to "y", completed first though opened second.
    x_long: Chain = (["x", "x", "x"], 1500, "x")
    y_short: Chain = (["y"], 500, "y")
    answer, s = solve("cmc", [x_long, y_short], 0.0)
    assert answer == "y"
    assert s.tokens == 2000
    # same lengths: "x" is advanced first in each round, so it completes first
    assert solve("cmc", [x_long, (["y"] * 3, 1500, "y")], 0.0)[0] == "x"


# --------------------------------------------------------------------------- SC / ASC / ESC
def test_sc_reads_exactly_k_chains() -> None:
    chains = [full(a, 1000 + 100 * n) for n, a in enumerate("abcabc")]
    answer, s = solve("sc", chains, k=3)
    assert answer == "a"
    assert s.trace() == [("READ", 0, 1000, 1000), ("READ", 1, 1100, 1100), ("READ", 2, 1200, 1200)]
    assert (s.n_open, s.tokens) == (3, 3300)


@pytest.mark.parametrize(
    ("finals", "expected_reads", "winner"),
    [
        # all agree: conf(k, 0) = 1 - I_0.5(k + 1, 1) = 1 - 0.5 ** (k + 1):
        # 0.75, 0.875, 0.9375, 0.96875 -> the first value above 0.95 is after 4 reads
        ("a" * 12, 4, "a"),
        # a, b, then a's: conf = P[Bin(t1 + t2 + 1, 1/2) < t1 + 1]:
        # (1,1) 0.5, (2,1) 11/16, (3,1) 26/32, (4,1) 57/64, (5,1) 120/128, (6,1) 247/256 = 0.965
        ("ab" + "a" * 10, 7, "a"),
        # b leads only while it cannot be confident; a overtakes: (1,0) .75, (2,0) .875,
        # (2,1) .6875, (2,2) .5, (3,2) 42/64, (4,2) 99/128, (5,2) 219/256, (6,2) 466/512 = 0.91,
        # (7,2) 968/1024 = 0.945, (8,2) 1981/2048 = 0.967
        ("bb" + "a" * 10, 10, "a"),
        # never confident: alternate; all 12 read, tie -> first seen
        ("ab" * 6, 12, "a"),
    ],
)
def test_asc_stops_as_soon_as_confident(finals: str, expected_reads: int, winner: str) -> None:
    answer, s = solve("asc", [full(a) for a in finals], max_samples=12)
    assert (answer, reads(s)) == (winner, expected_reads)


def test_asc_confidence_values_used_above() -> None:
    for (t1, t2), value in {
        (1, 0): 0.75,
        (4, 0): 0.96875,
        (3, 0): 0.9375,
        (6, 1): 247 / 256,
        (5, 1): 120 / 128,
        (7, 2): 968 / 1024,
        (8, 2): 1981 / 2048,
    }.items():
        assert beta_confidence(t1, t2) == pytest.approx(value, abs=1e-15)


def test_asc_threshold_is_strict() -> None:
    # after 2 agreeing reads conf = 0.875 exactly: a threshold of 0.875 needs one more read
    chains = [full("a")] * 5
    assert reads(solve("asc", chains, max_samples=5, threshold=0.875)[1]) == 3
    assert reads(solve("asc", chains, max_samples=5, threshold=0.87)[1]) == 2


@pytest.mark.parametrize(
    ("finals", "expected_reads", "winner"),
    [
        ("aaab" + "aaaa" + "bbbb", 8, "a"),  # second window unanimous
        ("aaaa" + "bbbb" + "bbbb", 4, "a"),  # first window unanimous
        ("aaab" + "abab" + "bbcb", 12, "b"),  # none: vote of the pool (a 5, b 6, c 1)
        ("aabb" + "bbaa" + "ccdd", 12, "a"),  # none, tie a/b 4-4 -> first seen
    ],
)
def test_esc_stops_after_the_first_unanimous_window(
    finals: str, expected_reads: int, winner: str
) -> None:
    answer, s = solve("esc", [full(a) for a in finals], max_samples=12, window=4)
    assert (answer, reads(s)) == (winner, expected_reads)


def test_esc_returns_the_window_answer_not_the_pool_vote() -> None:
    # pool after 9 reads: a 4, b 2, c 3 -> the vote would say a; the unanimous window says c
    answer, s = solve("esc", [full(a) for a in "aab" + "aab" + "ccc"], max_samples=9, window=3)
    assert (answer, reads(s)) == ("c", 9)


# --------------------------------------------------------------------------- Parallel-Probe
def test_parallel_probe_stops_after_t_stable_steps() -> None:
    # 3 chains all "a" (10 probes): open (3 x 500), then step 0 (stable 0), 1 (1), 2 (2 >= T)
    chains: list[Chain] = [(["a"] * 10, 5000, "a")] * 3
    answer, s = solve("parallel_probe", chains, chains=3, T=2)
    assert answer == "a"
    assert s.tokens == 3 * 500 * 4
    assert s.live() == [0, 1, 2]


def test_parallel_probe_prunes_off_track_chains() -> None:
    # three "a" chains (5 probes, 2500 tokens), one "b" chain (20 probes). warm_up 0, patience 2:
    # step 0 the b chain is off track once, step 1 twice -> pruned after 1 + 2 advances (1500
    # tokens). The a chains take 4 more advances to their last probe, then finish (0 extra):
    # everything is finished or pruned after step 4 -> "a".
    a: Chain = (["a"] * 5, 2500, "a")
    b: Chain = (["b"] * 20, 10000, "b")
    answer, s = solve("parallel_probe", [a, a, a, b], chains=4, T=100, prune_patience=2, warm_up=0)
    assert answer == "a"
    assert s.is_pruned(3)
    assert s.chain_tokens(3) == 1500
    assert s.tokens == 3 * 2500 + 1500
    trace = s.trace()
    prune_at = trace.index(Action("PRUNE", 3, 0, 0))
    # two full rounds happened before the prune, and chain 3 was never touched afterwards
    assert sum(t.kind == "CONTINUE" and t.chain == 3 for t in trace[:prune_at]) == 2
    assert all(t.chain != 3 for t in trace[prune_at + 1 :])


def test_parallel_probe_warm_up_delays_pruning() -> None:
    a: Chain = (["a"] * 5, 2500, "a")
    b: Chain = (["b"] * 20, 10000, "b")
    _, s = solve("parallel_probe", [a, a, a, b], chains=4, T=100, prune_patience=2, warm_up=10)
    # the a chains finish at step 4; b is first counted off track at step 10 (= warm_up) and
    # pruned at step 11, after the opening interval and 12 advances
    assert s.is_pruned(3)
    assert s.chain_tokens(3) == 500 * 13


# --------------------------------------------------------------------------- CMC
CMC_SCHEDULE = {
    # written out from the ALGORITHMS.md table (round() halves to even: 7.5 -> 8, 2.5 -> 2,
    # 3.5 -> 4)
    0.0: {
        "n_init": 2,
        "max_chains": 4,
        "warm_up": 2,
        "abandon_patience": 3,
        "window": 2,
        "alpha": 0.70,
        "conf_threshold": 0.85,
        "delta_slack": 0.04,
        "burst_aligned": 1,
        "widen_burst": 1,
        "trend_threshold": 0.04,
        "min_complete": 2,
    },
    0.5: {
        "n_init": 5,  # 2 + 3
        "max_chains": 34,  # 4 + 30
        "warm_up": 6,  # 2 + 4
        "abandon_patience": 8,  # round(7.5)
        "window": 5,  # 2 + 3
        "alpha": 0.50,
        "conf_threshold": 0.91,
        "delta_slack": 0.025,
        "burst_aligned": 2,  # 1 + 1
        "widen_burst": 2,  # round(2.5)
        "trend_threshold": 0.025,
        "min_complete": 4,  # round(3.5)
    },
    1.0: {
        "n_init": 8,
        "max_chains": 64,
        "warm_up": 10,
        "abandon_patience": 12,
        "window": 8,
        "alpha": 0.30,
        "conf_threshold": 0.97,
        "delta_slack": 0.01,
        "burst_aligned": 3,
        "widen_burst": 4,
        "trend_threshold": 0.01,
        "min_complete": 5,
    },
}


@pytest.mark.parametrize("beta", sorted(CMC_SCHEDULE))
def test_cmc_schedule_matches_the_table(beta: float) -> None:
    cmc = get_controller("cmc")
    got = cmc.schedule(beta)
    expected = CMC_SCHEDULE[beta]
    assert set(got) == set(expected)
    for key, value in expected.items():
        if isinstance(value, int):
            assert got[key] == value and isinstance(got[key], int), key
        else:
            assert got[key] == pytest.approx(value, abs=1e-12), key
    assert cmc(beta=beta).settings == got


def test_cmc_beta_is_clipped() -> None:
    cmc = get_controller("cmc")
    assert cmc.schedule(-0.5) == cmc.schedule(0.0)
    assert cmc.schedule(1.7) == cmc.schedule(1.0)
    assert cmc(beta=3).settings == cmc.schedule(1.0)
    assert cmc(beta=-1).beta == 0.0


def test_cmc_budget_grows_with_beta() -> None:
    betas = [round(0.1 * k, 1) for k in range(11)]
    results = evaluate(
        [synthetic_env(0)],
        ControllerSpec("cmc"),
        betas,
        protocol=Protocol("subsample", replicates=8, seed=1),
    )
    tokens = [r.avg_total_tokens for r in results]
    assert all(r.errors == 0 for r in results)
    assert tokens == sorted(tokens), tokens
    assert tokens[-1] > 2 * tokens[0]


# --------------------------------------------------------------------------- Beta confidence
def test_beta_confidence_matches_scipy() -> None:
    worst = 0.0
    for t1 in range(1, 71):
        for t2 in range(71):
            expected = 1 - float(betainc(t1 + 1, t2 + 1, 0.5))
            worst = max(worst, abs(beta_confidence(t1, t2) - expected))
    assert worst <= 1e-12
    assert beta_confidence(0, 0) == 0.0  # no votes


def test_beta_confidence_is_monotone() -> None:
    for t1 in range(1, 40):
        for t2 in range(0, 40):
            assert beta_confidence(t1 + 1, t2) > beta_confidence(t1, t2)
            assert beta_confidence(t1, t2 + 1) < beta_confidence(t1, t2)
    assert beta_confidence(5, 5) == pytest.approx(0.5, abs=1e-15)  # symmetric


# --------------------------------------------------------------------------- conformance
def conformance_env() -> list[Session]:
    """Sessions on 70 chains of assorted shapes (no probes, one probe, long), 3 orders."""
    rng = random.Random(7)
    chains: list[Chain] = []
    for n in range(70):
        n_probes = [0, 1, 3, 8, 20][n % 5]
        final = rng.choice(["1", "1", "1", "2", "ERR"])
        probes = [rng.choice(["1", "2", "ERR"]) for _ in range(n_probes)]
        chains.append((probes, rng.randint(0, 11000), final))
    orders = [list(range(70)), list(range(69, -1, -1)), rng.sample(range(70), 70)]
    return [session(chains, order) for order in orders]


def spec_for(cls: type[Controller]) -> ControllerSpec:
    return ControllerSpec(cls.name, beta=0.5 if cls.uses_beta else None)


@pytest.mark.parametrize("name", sorted(registered()))
def test_every_registered_controller_conforms(name: str) -> None:
    cls = registered()[name]
    assert issubclass(cls, Controller)
    assert cls.name == name
    assert get_controller(name) is cls
    # it builds with its defaults
    solver = make_solver(spec_for(cls))
    for s in conformance_env():
        answer = solver(s)
        assert isinstance(answer, str), (name, answer)
        assert s.tokens > 0
        assert s.answered is None  # the runner, not the controller, takes the terminal action
        solver = make_solver(spec_for(cls))  # a fresh controller per episode, as the runner does
    # a bad parameter is refused at build time
    with pytest.raises(ControllerError):
        make_solver(ControllerSpec(name, {"no_such_parameter": 1}, spec_for(cls).beta))
    if cls.uses_beta:
        with pytest.raises(ControllerError):
            cls()  # a beta controller needs its beta
        for beta in (0.0, 0.25, 0.5, 1.0):
            schedule = cls.schedule(beta)
            assert isinstance(schedule, dict) and schedule
            for key, value in schedule.items():
                assert isinstance(key, str)
                assert isinstance(value, Real) and not isinstance(value, bool), (key, value)
    else:
        with pytest.raises(ControllerError):
            cls(beta=0.5)
        assert cls().settings == cls.defaults


def test_conformance_covers_the_built_ins() -> None:
    assert {"sc", "asc", "esc", "parallel_probe", "cmc"} <= set(registered())


@pytest.mark.parametrize(
    ("name", "params", "expected"),
    [
        ("sc", {"k": 16}, {"k": 16}),
        ("sc", {"k": 16.0}, {"k": 16}),  # a whole float is the integer
        ("asc", {"threshold": 1}, {"max_samples": 64, "threshold": 1.0}),
    ],
)
def test_parameters_take_the_type_of_their_default(
    name: str, params: dict[str, Any], expected: dict[str, Any]
) -> None:
    settings = get_controller(name)(**params).settings
    assert settings == {**get_controller(name).defaults, **expected}
    assert all(type(settings[k]) is type(v) for k, v in get_controller(name).defaults.items())


@pytest.mark.parametrize(
    ("name", "params"),
    [("sc", {"k": 2.9}), ("sc", {"k": "many"}), ("sc", {"k": True}), ("asc", {"threshold": "x"})],
)
def test_lossy_or_wrongly_typed_parameters_are_refused(name: str, params: dict[str, Any]) -> None:
    with pytest.raises(ControllerError, match="must be"):
        get_controller(name)(**params)
