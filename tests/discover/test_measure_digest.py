"""Trace statistics and digests: faithful to the session, bounded and deterministic."""

import math

import pytest

from autotts.controllers import ControllerSpec
from autotts.discover.digest import candidate_digest, history_digest, score
from autotts.discover.history import CandidateRow
from autotts.discover.measure import MeasureSettings, episode_summary, measure
from autotts.evaluate import Protocol, run_episode
from tests.controllers.synthetic import synthetic_env

SPECS = [
    ControllerSpec("cmc", beta=0.5),
    ControllerSpec("parallel_probe"),
    ControllerSpec("sc", {"k": 8}),
    ControllerSpec("asc"),
]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.spec)
def test_episode_summary_replays_the_session(spec):
    env = synthetic_env(3, n_questions=6)
    proto = Protocol(replicates=3)
    for q in range(len(env)):
        for r in range(3):
            ep = run_episode(env, spec, q, r)
            s = ep.session
            order = proto.orders(q, env.questions[q].n_chains)[r]
            info = episode_summary(
                s.trace(),
                order,
                env.questions[q].probes,
                env.questions[q].finals,
                env.questions[q].gold,
            )
            assert info["width"] == s.n_open
            for i in range(s.n_open):
                expected = (
                    "pruned" if s.is_pruned(i) else "finished" if s.is_finished(i) else "running"
                )
                assert info["states"][i] == expected
                assert info["last_seen"][i] == s.last_revealed(i)
            assert info["probes"] == s.n_probes
            assert info["live_at_stop"] == len(s.live())


def _settings(reps=4):
    return MeasureSettings(Protocol(replicates=reps), trace_replicates=2)


def test_measure_matches_the_evaluator_and_counts_prunes():
    env = synthetic_env(5, n_questions=8)
    records = measure([env], ControllerSpec("parallel_probe"), [None], _settings())
    (rec,) = records
    assert rec["result"]["episodes"] == 8 * 4
    t = rec["trace"]
    assert t["replicates"] == 2 and len(t["questions"]) == 8
    assert t["pruned"] >= t["pruned_right"] >= 0
    assert t["mean_width"] > 1
    assert all(" => " in q["example"] for q in t["questions"])


def _sweeps():
    envs = {"A/x": synthetic_env(1, n_questions=8), "B/y": synthetic_env(2, n_questions=8)}
    st = _settings()

    def sweep(spec, betas):
        return {label: measure([e], spec, betas, st) for label, e in envs.items()}

    baselines = {"sc": {}, "cmc": sweep(ControllerSpec("cmc"), [0.0, 0.5, 1.0])}
    for label, e in envs.items():
        recs = []
        for k in (2, 8, 32):
            (r,) = measure([e], ControllerSpec("sc", {"k": k}), [None], st)
            r["label"] = f"k={k}"
            recs.append(r)
        baselines["sc"][label] = recs
    cand = sweep(ControllerSpec("cmc"), [0.0, 0.5, 1.0])
    return cand, baselines


def test_digest_is_bounded_deterministic_and_informative():
    cand, baselines = _sweeps()
    text = candidate_digest("r0c0", cand, baselines)
    assert text == candidate_digest("r0c0", cand, baselines)
    assert len(text) <= 3500
    assert "A/x" in text and "B/y" in text
    assert "tokens/chain" in text and "would have been right" in text
    assert "gold=" in text  # representative episodes
    assert len(candidate_digest("r0c0", cand, baselines, limit=600)) <= 600
    s = score(cand, baselines)
    assert s is not None and -100 < s < 100

    def row(cid: str, status: str, reason: str, sc: float | None) -> CandidateRow:
        return CandidateRow(cid, 1, 0, int(cid[-1]), "C", "", "h", [], "openai", "", None, None,
                            0, 0, 0.0, status, reason, sc)  # fmt: skip

    rows = [
        row("r0c0", "ok", "", s),
        row("r0c1", "policy", "controller.py:1: import of 'os' is not allowed", None),
    ]
    full = history_digest(rows, {"r0c0": cand}, baselines, limit=5000)
    assert len(full) <= 5000
    assert "import of 'os' is not allowed" in full and "### r0c0" in full
    assert "k=8" in full  # baselines' curve points are labelled


def test_digest_names_questions_lost_to_a_baseline():
    cand, baselines = _sweeps()
    # a candidate that is always wrong at its highest beta loses every question sc wins
    for recs in cand.values():
        top = recs[-1]["result"]
        top["per_question_accuracy"] = [0.0] * len(top["per_question_accuracy"])
    text = candidate_digest("r0c0", cand, baselines)
    assert "questions lost at the highest beta that a baseline won" in text


def _records(points: list[tuple[float, float, float]]) -> list[dict]:
    """Records with just what score and the curve read: (beta, total tokens, accuracy)."""
    return [
        {"beta": b, "result": {"avg_total_tokens": t, "avg_sequential_tokens": t / 4,
                               "accuracy": a}}
        for b, t, a in points
    ]  # fmt: skip


def test_score_is_the_matched_advantage_over_the_joint_frontier_of_every_baseline():
    from autotts.discover.digest import _curve, baseline_frontier
    from autotts.discover.summary import advantages, token_ratios
    from autotts.evaluate import envelope, matched_accuracy, matched_advantage

    baselines = {
        "sc": {"e": _records([(0, 100.0, 40.0), (0, 400.0, 50.0), (0, 1600.0, 55.0)])},
        "asc": {"e": _records([(0, 200.0, 48.0), (0, 800.0, 60.0)])},  # beats sc at 400+
    }
    points = [(100.0, 40.0), (200.0, 48.0), (400.0, 50.0), (800.0, 60.0), (1600.0, 55.0)]
    # at 400 tokens asc's own curve (48 % at 200, 60 % at 800, linear in log tokens) is at 54
    joint = [(100.0, 40.0), (200.0, 48.0), (400.0, 54.0), (800.0, 60.0)]
    got = baseline_frontier(baselines, "e")
    assert [t for t, _ in got] == [t for t, _ in joint]
    assert [a for _, a in got] == pytest.approx([a for _, a in joint])
    assert envelope(points) == [*joint[:2], (400.0, 50.0), joint[3]]
    cand = {"e": _records([(0.0, 150.0, 50.0), (0.5, 300.0, 55.0), (1.0, 900.0, 62.0)])}
    mine = [(150.0, 50.0), (300.0, 55.0), (900.0, 62.0)]
    # the frontier's points at 200, 400 and 800 tokens lie within 150..900
    frontier = baseline_frontier(baselines, "e")
    assert score(cand, baselines) == round(matched_advantage(mine, frontier) or 0, 4)
    assert matched_advantage(mine, frontier) == pytest.approx(
        (50 + 5 * math.log(200 / 150) / math.log(2) - 48 + 55 + 7 * math.log(4 / 3) / math.log(3)
         - 54 + 55 + 7 * math.log(8 / 3) / math.log(3) - 60) / 3
    )  # fmt: skip
    # a candidate between two frontier points has no score
    assert score({"e": _records([(0.0, 210.0, 90.0), (1.0, 390.0, 95.0)])}, baselines) is None
    assert "50.0%@150/38" in _curve(cand["e"], "e")  # total / sequential tokens
    # the summary's held-out figures are the same metrics against each baseline's points
    adv, ratio = advantages(cand, baselines), token_ratios(cand, baselines)
    assert adv["asc"]["e"] == round(matched_advantage(mine, [(200.0, 48.0), (800.0, 60.0)]) or 0, 3)
    sc_points = [(100.0, 40.0), (400.0, 50.0), (1600.0, 55.0)]
    assert ratio["sc"]["e"] == round(matched_accuracy(mine, sc_points) or 0, 4)
    assert ratio["sc"]["mean"] == ratio["sc"]["e"]
