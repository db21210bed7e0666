"""Episode maps: the grid is the session's action log, cell by cell."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from autotts.controllers import ControllerSpec
from autotts.env import Session
from autotts.evaluate import Episode, EvalSettings, Protocol, new_session, play, run_episode
from autotts.report import episode_figure, episode_grid
from autotts.report.style import save_one
from tests.builders import make_env
from tests.controllers.synthetic import synthetic_env

from .test_report import PNG_SIGNATURE

# five chains, gold "5": (probes, total tokens, final answer)
HAND = make_env(
    [
        (
            [
                (["ERR", "5", "7"], 1700, "7"),
                (["5", "5"], 1200, "5"),
                ([], 300, "9"),  # no probe points: finished when opened
                (["3"], 900, "3"),
                (["5", "5", "5", "5"], 2100, "5"),
            ],
            "5",
        )
    ]
)


def scripted(session: Session) -> str:
    a = session.branch()  # chain 0
    session.probe(a)  # ERR
    b = session.branch()  # chain 1
    session.step(b)  # 5 at its second interval
    session.probe(b)  # the same cell again
    c = session.branch()  # chain 2, finished at once
    session.probe(c)  # 9
    session.step(a, 2)  # skips "5", sees 7
    session.advance(a)  # the tail: finished, not looked at ...
    session.probe(a)  # ... until now: its final answer 7
    session.prune(b)
    session.read(2)  # chains 3 and 4 whole
    return "5"


def test_a_scripted_episode_cell_by_cell() -> None:
    order = (0, 1, 2, 3, 4)
    session = new_session(HAND, 0, order, EvalSettings())
    answer, error, truncated = play(session, scripted)
    episode = Episode(0, 0, answer, "5", error, truncated, session)
    g = episode_grid(HAND, episode, order, "scripted")
    u = "unrevealed"
    assert [r.cells for r in g.rows] == [
        ("err", u, "wrong", "wrong"),
        (u, "right"),
        ("wrong",),
        (u, "wrong"),
        (u, u, u, u, "right"),
    ]
    assert [r.answers for r in g.rows] == [
        ("ERR", None, "7", "7"),
        (None, "5"),
        ("9",),
        (None, "3"),
        (None, None, None, None, "5"),
    ]
    assert [r.end for r in g.rows] == ["finished", "pruned", "finished", "finished", "finished"]
    assert [r.tokens for r in g.rows] == [1700, 1000, 300, 900, 2100]
    assert [r.probes for r in g.rows] == [3, 2, 1, 0, 0]
    assert [r.read_whole for r in g.rows] == [False, False, False, True, True]
    assert g.tokens == session.tokens == 6000
    assert (g.correct, g.width, g.depth) == (True, 5, 5)
    assert g.counts() == {"right": 2, "wrong": 4, "err": 1, "unrevealed": 7}
    record = g.to_json()
    assert record["cells"]["revealed"] == 7
    assert record["ends"] == {"finished": 4, "pruned": 1, "stopped": 0}
    assert record["probes"] == 6


def _per_chain(trace: list, kinds: tuple[str, ...]) -> Counter[int]:
    return Counter(a.chain for a in trace if a.kind in kinds)


@pytest.mark.parametrize(
    "cs",
    [
        ControllerSpec("cmc", beta=0.0),
        ControllerSpec("cmc", beta=1.0),
        ControllerSpec("parallel_probe", {"chains": 12, "T": 4, "warm_up": 3, "prune_patience": 2}),
        ControllerSpec("asc", {"max_samples": 16}),
        ControllerSpec("esc", {"max_samples": 16, "window": 4}),
    ],
)
def test_cell_counts_equal_the_action_log(cs: ControllerSpec) -> None:
    env = synthetic_env(4, n_questions=6, n_chains=40)
    protocol = Protocol("official", 4)
    for q in range(len(env)):
        for r in range(protocol.replicates):
            e = run_episode(env, cs, q, r, EvalSettings(protocol))
            order = protocol.orders(q, 40)[r]
            g = episode_grid(env, e, order, cs.spec)
            trace = e.session.trace()
            probes = _per_chain(trace, ("PROBE",))
            reads = _per_chain(trace, ("READ",))
            generated = _per_chain(trace, ("BRANCH", "CONTINUE"))
            prunes = _per_chain(trace, ("PRUNE",))
            assert g.width == e.session.n_open
            for row in g.rows:
                i = row.index
                revealed = sum(c != "unrevealed" for c in row.cells)
                # these controllers look at most once per interval, so one probe = one cell
                assert revealed == probes[i] + reads[i], (q, r, i)
                if reads[i]:
                    n_probe_points = len(env.questions[q].probes[order[i]])
                    assert len(row.cells) == (n_probe_points + 1 if n_probe_points else 1)
                else:
                    assert len(row.cells) == generated[i]
                assert row.tokens == sum(a.tokens for a in trace if a.chain == i)
                assert (row.end == "pruned") == bool(prunes[i])
                assert (row.end == "finished") == e.session.is_finished(i)
            assert g.tokens == e.session.tokens
            assert g.sequential_tokens == max(row.tokens for row in g.rows)
            assert g.counts()["unrevealed"] + sum(probes.values()) + sum(reads.values()) == sum(
                len(row.cells) for row in g.rows
            )


def test_figures_render(tmp_path: Path) -> None:
    env = synthetic_env(5, n_questions=2, n_chains=30)
    protocol = Protocol("official", 1)
    order = protocol.orders(1, 30)[0]
    grids = [
        episode_grid(env, run_episode(env, cs, 1, 0, EvalSettings(protocol)), order, cs.spec)
        for cs in (ControllerSpec("cmc", beta=0.5), ControllerSpec("sc", {"k": 8}))
    ]
    for n, name in ((1, "one.png"), (4, "four.png")):
        path = save_one(
            episode_figure((grids * 2)[:n], {"cmc": "#D55E00"}, "heading"), tmp_path / name
        )
        assert path.read_bytes()[:8] == PNG_SIGNATURE
