"""``autotts env synth | import | info``."""

from __future__ import annotations

import json
from pathlib import Path

from autotts.data import content_hash, load_env
from tests.builders import make_env, released_records

from .conftest import Run, one_error_line

INFO_KEYS = {
    "questions", "chains_min", "chains_max", "length_quantiles", "probes_per_chain_median",
    "err_rate", "pass_at_1", "majority_at_k", "model", "dataset", "interval_tokens",
    "temperature", "probe_prompt", "source", "content_hash", "path",
}  # fmt: skip

SMALL = ["--questions", "4", "--chains", "16"]


def test_synth_then_info_json(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    result = run("env", "synth", "-o", out, *SMALL, "--seed", "3", "--model", "m", "--dataset", "d")
    assert result.exit_code == 0, result.output
    (line,) = result.stdout.splitlines()
    assert line.startswith(f"wrote {out}: m/d, 4 questions x 16 chains, interval 500 tokens")
    result = run("env", "info", out, out, "--json", "--replicates", "5")
    assert result.exit_code == 0, result.output
    first, second = (json.loads(x) for x in result.stdout.splitlines())
    assert first == second
    assert set(first) >= INFO_KEYS
    assert (first["questions"], first["chains_min"], first["chains_max"]) == (4, 16, 16)
    assert (first["model"], first["dataset"], first["interval_tokens"]) == ("m", "d", 500)
    assert first["content_hash"] == content_hash(load_env(out))
    assert {str(k) for k in first["majority_at_k"]} >= {"1", "4", "all"}


def test_synth_is_deterministic(run: Run, tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    for path, seed in ((a, "7"), (b, "7"), (c, "8")):
        assert run("env", "synth", "-o", path, *SMALL, "--seed", seed).exit_code == 0
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_info_table(run: Run, tmp_path: Path) -> None:
    out = tmp_path / "s.json"
    assert run("env", "synth", "-o", out, *SMALL, "--model", "mm", "--dataset", "dd").exit_code == 0
    result = run("env", "info", out, "--replicates", "3")
    assert result.exit_code == 0, result.output
    assert "mm/dd" in result.stdout and "pass@1" in result.stdout


def test_import_round_trip_keeps_metadata(run: Run, tmp_path: Path) -> None:
    env = make_env([([(["1", "2"], 1100, "2"), (["ERR"], 600, "3")], "2")], interval=500)
    released = tmp_path / "released.json"
    released.write_text(json.dumps(released_records(env)))
    out = tmp_path / "own.json"
    result = run(
        "env", "import", released, "--model", "Qwen-X", "--dataset", "aime99", "-o", out,
        "--temperature", "0.7", "--probe-prompt", "Final answer:",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"wrote {out}: Qwen-X/aime99, 1 questions x 2 chains")
    loaded = load_env(out)
    meta = loaded.meta
    assert (meta.model, meta.dataset, meta.temperature) == ("Qwen-X", "aime99", 0.7)
    assert (meta.probe_prompt, meta.source, meta.interval_tokens) == (
        "Final answer:",
        str(released),
        500,
    )
    assert meta.content_hash == content_hash(load_env(released)) == content_hash(loaded)
    assert released_records(loaded) == released_records(load_env(released))
    info = json.loads(run("env", "info", out, "--json", "--replicates", "2").stdout)
    assert (info["model"], info["temperature"], info["probe_prompt"]) == (
        "Qwen-X",
        0.7,
        "Final answer:",
    )


def test_import_requires_model_and_dataset(run: Run, tmp_path: Path) -> None:
    result = run("env", "import", tmp_path / "x.json", "-o", tmp_path / "y.json")
    assert result.exit_code == 2 and "Missing option" in result.stderr


def test_import_of_a_malformed_file(run: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    line = one_error_line(run("env", "import", bad, "--model", "m", "--dataset", "d", "-o",
                              tmp_path / "out.json"))  # fmt: skip
    assert "question 0" in line and str(bad) in line
    assert not (tmp_path / "out.json").exists()


def test_info_match_normalized_merges_latex_variants(run: Run, tmp_path: Path) -> None:
    # gold "7"; finals "$7$", "\boxed{7}", "8": no final equals the gold string exactly,
    # two of three do after normalization
    env = make_env([([(["1"], 600, "$7$"), (["1"], 600, "\\boxed{7}"), (["1"], 600, "8")], "7")])
    path = tmp_path / "latex_released.json"
    path.write_text(json.dumps(released_records(env)))
    exact, normalized = (
        json.loads(run("env", "info", path, "--json", "--match", m, "--replicates", "2").stdout)
        for m in ("exact", "normalized")
    )
    assert exact["pass_at_1"] == 0.0
    assert normalized["pass_at_1"] == round(100 * 2 / 3, 6)
    assert (exact["match"], normalized["match"]) == ("exact", "normalized")
    # the hash names the file's content, whatever the matching
    assert exact["content_hash"] == normalized["content_hash"] == content_hash(env)
