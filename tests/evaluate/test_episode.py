"""``run_episode``: one episode, played exactly as the evaluator plays it."""

from __future__ import annotations

import pytest

from autotts.controllers import ControllerSpec
from autotts.evaluate import EvalSettings, Protocol, evaluate, run_episode
from tests.controllers.synthetic import synthetic_env


@pytest.mark.parametrize(
    ("cs", "protocol"),
    [
        (ControllerSpec("cmc", beta=0.5), Protocol("official", 4)),
        (ControllerSpec("parallel_probe", {"chains": 8, "T": 3}), Protocol("subsample", 3, 5)),
        (ControllerSpec("asc"), Protocol("official", 3)),
    ],
)
def test_episodes_add_up_to_the_evaluation(cs: ControllerSpec, protocol: Protocol) -> None:
    env = synthetic_env(2, n_questions=4, n_chains=40)
    rs = EvalSettings(protocol)
    (result,) = evaluate([env], cs, protocol=protocol)
    episodes = [
        run_episode(env, cs, q, r, rs) for q in range(len(env)) for r in range(protocol.replicates)
    ]
    assert result.episodes == len(episodes)
    assert result.accuracy == pytest.approx(100 * sum(e.correct for e in episodes) / len(episodes))
    mean_cost = sum(e.session.cost for e in episodes) / len(episodes)
    assert result.avg_total_tokens == pytest.approx(mean_cost)
    for e in episodes:
        trace = e.session.trace()
        assert trace[-1].kind == "ANSWER"
        assert sum(a.cost for a in trace) == pytest.approx(e.session.cost)
        assert e.gold == env.questions[e.question].gold


def test_the_episode_uses_the_replicate_order() -> None:
    env = synthetic_env(3, n_questions=2, n_chains=30)
    protocol = Protocol("official", 5)
    e = run_episode(env, ControllerSpec("sc", {"k": 1}), 1, 4, EvalSettings(protocol))
    first = protocol.orders(1, 30)[4][0]
    assert e.answer == env.questions[1].finals[first]
    assert [a.kind for a in e.session.trace()] == ["READ", "ANSWER"]


@pytest.mark.parametrize(("question", "replicate"), [(-1, 0), (2, 0), (0, 100)])
def test_out_of_range_episodes_are_refused(question: int, replicate: int) -> None:
    env = synthetic_env(3, n_questions=2, n_chains=30)
    with pytest.raises(ValueError, match="out of range"):
        run_episode(env, ControllerSpec("sc"), question, replicate)
