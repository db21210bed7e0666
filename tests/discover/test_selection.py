"""Honest selection (autotts.discover.selection): the paired interval of the selection's
search advantage, the best baseline, seed genomes, held-out shortfalls, and what the summary
and the CLI say when nothing beat the baselines."""

from __future__ import annotations

import random
from dataclasses import replace
from typing import Any

from autotts.discover.evolve.genome import mutate, seed_genomes
from autotts.discover.evolve.render import render
from autotts.discover.selection import (
    SEED_NAMES,
    best_baseline,
    heldout_below,
    paired_advantage,
    search_verdict,
    seed_baseline,
)
from autotts.discover.summary import render_text
from autotts.discover.verdict import plain_result

from .candidates import GOOD

N = 40  # questions


def record(tokens: float, per_q: list[float], label: str | None = None) -> dict[str, Any]:
    r: dict[str, Any] = {
        "beta": None,
        "result": {
            "accuracy": 100 * sum(per_q) / len(per_q),
            "avg_total_tokens": tokens,
            "per_question_accuracy": per_q,
        },
    }
    if label:
        r["label"] = label
    return r


def hard_and_easy(shift: float = 0.0, seed: int = 0) -> list[float]:
    """Per-question accuracies that vary a lot between questions (some easy, some hard)."""
    rng = random.Random(seed)
    return [min(1.0, max(0.0, rng.choice((0.05, 0.5, 0.95)) + shift)) for _ in range(N)]


TOKENS = (1e3, 2e3, 4e3, 8e3)


def baselines() -> dict[str, Any]:
    """sc (a curve that rises with tokens), cmc (a little better at every budget), esc (one
    point under both); the same questions are easy or hard for all of them."""
    sc = [record(t, hard_and_easy(-0.1 + 0.05 * i)) for i, t in enumerate(TOKENS)]
    cmc = [
        record(t * 1.1, [min(1.0, a + 0.03) for a in r["result"]["per_question_accuracy"]])
        for t, r in zip(TOKENS, sc, strict=True)
    ]
    esc = [record(3e3, hard_and_easy(-0.2))]
    return {"sc": {"e": sc}, "cmc": {"e": cmc}, "esc": {"e": esc}}


def shifted(sweep: list[dict[str, Any]], delta: float) -> list[dict[str, Any]]:
    """The same points, every question ``delta`` more accurate (capped at 1)."""
    return [
        record(
            r["result"]["avg_total_tokens"],
            [min(1.0, a + delta) for a in r["result"]["per_question_accuracy"]],
        )
        for r in sweep
    ]


def test_a_copy_of_a_baseline_does_not_beat_the_baselines() -> None:
    base = baselines()
    out = paired_advantage({"e": base["cmc"]["e"]}, base, seed=3)
    assert out["value"] == 0.0
    lo, hi = out["ci95"]
    assert lo <= 0.0 <= hi  # on the frontier, never clearly above it
    verdict = search_verdict(GOOD, {"e": base["cmc"]["e"]}, base, seed=3)
    assert verdict["beats_baselines"] is False
    assert verdict["search_advantage"] == out


def test_a_small_gain_on_every_question_is_seen_because_the_draws_are_paired() -> None:
    """Questions vary far more than the gain; only a paired bootstrap sees the gain clearly."""
    base = baselines()
    better = {"e": shifted(base["cmc"]["e"], 0.02)}
    out = paired_advantage(better, base, resamples=400, seed=1)
    assert out["value"] is not None and out["value"] > 0
    assert 0 < out["ci95"][0] < out["value"] < out["ci95"][1]
    assert search_verdict(GOOD, better, base)["beats_baselines"] is True


def test_the_interval_is_seeded_and_deterministic() -> None:
    base = baselines()
    worse = {"e": shifted(base["sc"]["e"], -0.05)}
    a = paired_advantage(worse, base, resamples=200, seed=7)
    assert a == paired_advantage(worse, base, resamples=200, seed=7)
    b = paired_advantage(worse, base, resamples=200, seed=8)
    assert a["value"] == b["value"] and a["ci95"] != b["ci95"]
    assert a["ci95"][1] < 0  # clearly below the frontier


def test_without_per_question_accuracies_there_is_no_interval_and_no_win() -> None:
    base = baselines()
    better = {"e": shifted(base["cmc"]["e"], 0.2)}
    for r in better["e"]:
        r["result"]["per_question_accuracy"] = []
    verdict = search_verdict(GOOD, better, base)
    assert verdict["search_advantage"]["value"] > 0
    assert verdict["search_advantage"]["ci95"] is None
    assert verdict["beats_baselines"] is False


def test_the_best_baseline_is_the_one_furthest_above_the_others() -> None:
    base = baselines()
    best = best_baseline(base)
    assert best is not None and best[0] == "cmc" and (best[1] or 0) > 0
    base["sc"] = {"e": shifted(base["sc"]["e"], 0.2)}  # now sc is the one ahead
    best = best_baseline(base)
    assert best is not None and best[0] == "sc" and (best[1] or 0) > 0


def test_with_every_point_equally_accurate_the_cheapest_baseline_is_best() -> None:
    """Every point equally accurate: the cheapest curve is level with the others' frontier."""
    same = [1.0, 0.0, 1.0]
    flat = {
        "sc": {"e": [record(4e4, same), record(9e4, same)]},
        "cmc": {"e": [record(3e4, same), record(6e4, same)]},
        "esc": {"e": [record(2e5, same)]},
    }
    assert best_baseline(flat) == ("cmc", 0.0)  # level with the others' frontier at 4e4
    s = {
        "selected": {"id": "r0c0", "score": 0.0, "code_path": "c.py", "spec": "c.py:C"},
        **search_verdict(GOOD, {"e": flat["cmc"]["e"]}, flat),
        "heldout": {},
        "config": {},
    }
    assert plain_result(s)[0].startswith(
        "Nothing beat the baselines on the search split: best is cmc ("
    )


def test_seed_genomes_are_recognised_and_anything_else_is_not() -> None:
    names = [seed_baseline(render(g)) for g in seed_genomes()]
    assert names == list(SEED_NAMES) and names[:4] == ["cmc", "sc", "parallel_probe", "asc"]
    rng = random.Random(0)
    changed = next(
        m for m in (mutate(seed_genomes()[0], rng) for _ in range(20)) if m != seed_genomes()[0]
    )
    assert seed_baseline(render(changed)) is None
    assert seed_baseline(GOOD) is None
    assert seed_baseline("GENOME = {'choices': 1}") is None
    assert seed_baseline("this is not python (") is None


def test_a_seed_genome_never_beats_the_baselines_whatever_its_numbers() -> None:
    base = baselines()
    better = {"e": shifted(base["cmc"]["e"], 0.2)}
    verdict = search_verdict(render(seed_genomes()[0]), better, base)
    assert verdict["search_advantage"]["ci95"][0] > 0  # the numbers alone would say it wins
    assert verdict["selection_is_seed"] == "cmc"
    assert verdict["beats_baselines"] is False


def test_heldout_below_lists_every_baseline_above_the_selection() -> None:
    adv: dict[str, dict[str, Any]] = {
        "cmc": {"h1": -6.0, "h2": -5.6, "mean": -5.8},
        "sc": {"h1": 1.0, "mean": 1.0},
        "esc": {"h1": None, "mean": None},
        "asc": {"h1": -0.5, "mean": -0.5},
    }
    assert heldout_below(adv) == [
        {"baseline": "cmc", "by": 5.8, "per_env": {"h1": -6.0, "h2": -5.6}},
        {"baseline": "asc", "by": 0.5, "per_env": {"h1": -0.5}},
    ]
    assert heldout_below({"sc": {"mean": 0.0}}) == []


def _summary(verdict: dict[str, Any], below: list[dict[str, Any]]) -> dict[str, Any]:
    rows = [{"point": "b=1", "accuracy": 40.0, "avg_total_tokens": 5e3}]
    return {
        "config": {"heldout_envs": ["h.json"]},
        "candidates": [
            {"id": "r0c0", "proposer": "evolve", "status": "ok", "score": 0.0, "reason": ""}
        ],
        "stopped": None,
        "spent_usd": 0.0,
        "selected": {
            "id": "r0c0",
            "score": 0.0,
            "code_path": "candidates/r0c0/controller.py",
            "spec": "candidates/r0c0/controller.py:EvolvedX",
        },
        "heldout": {"cmc": {"h": rows}, "selected": {"h": rows}},
        "heldout_advantage": {"cmc": {"h": -5.8, "mean": -5.8}},
        "heldout_below": below,
        **verdict,
    }


def test_the_cli_says_plainly_when_the_cmc_seed_is_handed_back() -> None:
    base = baselines()
    verdict = search_verdict(render(seed_genomes()[0]), {"e": base["cmc"]["e"]}, base)
    s = _summary(verdict, heldout_below({"cmc": {"h": -5.8, "mean": -5.8}}))
    lines = plain_result(s, "runs/x")
    assert lines[0].startswith("Nothing beat the baselines on the search split: best is cmc (")
    assert "r0c0, is the evolve proposer's cmc seed genome, unchanged (cmc re-" in lines[0]
    assert "Below cmc on held-out by 5.80 points (at matched tokens)." in lines
    assert not any(line.startswith("Found") for line in lines)
    text = render_text(s)
    assert "selected r0c0" not in text
    assert "best candidate r0c0 (search score +0.00, 95 % CI " in text
    assert "the cmc seed genome, unchanged" in text
    assert "nothing beat the baselines on the search split: best is cmc" in text
    assert "  below cmc on held-out by 5.80 points" in text


WASTE = '''"""Read many chains, then answer with the first one: SC's cost, one chain's accuracy."""
from autotts.controllers import Controller


class Waste(Controller):
    name = "waste"
    uses_beta = True

    @classmethod
    def schedule(cls, beta):
        return {"width": round(5 * 1.8 ** (2 * beta))}  # 5, 9, 16: even steps, as the contract asks

    def solve(self, session):
        return session.read(min(self.settings["width"], session.n_available))[0]
'''


def test_a_run_whose_only_candidate_loses_says_so(tmp_path, splits) -> None:
    """A whole run (sandboxed candidate, both splits) whose one candidate is built to lose:
    summary.json and the CLI's lines say nothing beat the baselines and where it is below."""
    from autotts.cli.discover_output import final_text
    from autotts.discover import discover
    from tests.scripted_server import ScriptedServer, chat_reply

    from .candidates import reply
    from .conftest import make_config

    with ScriptedServer(chat=lambda body: chat_reply(reply(WASTE))) as server:
        cfg = replace(make_config(splits, server.url, rounds=1), candidates_per_round=1)
        summary = discover(tmp_path / "run", cfg, workers=2)
    assert summary["selected"]["id"] == "r0c0"  # it passed every check: selected, not a winner
    assert summary["beats_baselines"] is False and summary["selection_is_seed"] is None
    adv = summary["search_advantage"]
    assert abs(adv["value"] - summary["selected"]["score"]) < 1e-3  # the same advantage
    assert adv["ci95"][1] < 0 and (adv["resamples"], adv["seed"]) == (1000, 0)
    assert summary["best_baseline"] in summary["search"]
    below = summary["heldout_below"]
    assert below and all(b["by"] > 0 for b in below)
    assert {b["baseline"] for b in below} == {
        n for n, per_env in summary["heldout_advantage"].items() if (per_env["mean"] or 0) < 0
    }
    text = final_text(summary, tmp_path / "run", None, 1.0, "")
    best = summary["best_baseline"]
    assert f"Nothing beat the baselines on the search split: best is {best} (" in text
    first = below[0]
    assert f"Below {first['baseline']} on held-out by {first['by']:.2f} points" in text
    assert "Found" not in text
