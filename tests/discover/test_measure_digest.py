"""Trace statistics and digests: faithful to the session, bounded and deterministic."""

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
