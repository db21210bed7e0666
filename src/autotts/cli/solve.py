"""``autotts solve``: run a controller live against a model server."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from .collect import make_client, make_sampler, make_settings
from .common import CliError, check_output_path, parse_params, resolve_controller
from .options import (
    beta_option,
    budget_option,
    chains_option,
    command,
    kappa_probe_option,
    match_option,
    model_options,
    option,
    params_option,
    sampling_options,
    speculation_options,
)

if TYPE_CHECKING:
    from ..live import LiveResult

DEFAULT_BETA = 0.5


def controller_beta(controller: str, beta: float | None) -> float | None:
    """0.5 for a beta controller without --beta; none for a fixed baseline (refused if
    given); original-style file classes get one only if given."""
    from ..controllers import uses_beta

    takes = uses_beta(controller)
    if takes is True:
        return DEFAULT_BETA if beta is None else beta
    if takes is False and beta is not None:
        raise CliError(f"controller {controller!r} takes no beta; drop --beta (use --param)")
    return beta


def _line(r: LiveResult) -> str:
    if r.error:
        head = f"{r.question_id}: error: {r.error}"
    else:
        head = f"{r.question_id}: answer {r.answer!r}"
        if r.gold is not None:
            head += f" (gold {r.gold!r}: {'correct' if r.correct else 'wrong'})"
        if r.truncated:
            head += " [budget reached]"
    return (
        f"{head}\n  {r.tokens:,} tokens charged ({r.sequential_tokens:,} sequential), "
        f"{r.generated_tokens:,} generated ({r.speculative_tokens:,} speculative, unused), "
        f"{r.probe_tokens:,} on {r.probes} probes; {r.requests:,} requests, {r.seconds:.2f} s"
    )


@command(short_help="Run a controller live against a model server.")
@click.argument("question", required=False)
@model_options("SOLVE")
@option(
    "--controller",
    required=True,
    metavar="NAME|FILE.py:CLASS|genome:FILE",
    help="A registered controller (sc, asc, esc, parallel_probe, cmc), a class in a file, or "
    "genome:FILE, a genome the evolve search found, run by autotts's own interpreter.",
)
@params_option()
@beta_option(f"Beta in [0, 1] of a beta-parameterized controller [default: {DEFAULT_BETA}].")
@option(
    "--questions",
    "questions_file",
    default=None,
    metavar="FILE.jsonl",
    type=click.Path(),
    help='Questions instead of QUESTION: {"id", "question", "answer" (optional)} per line.',
)
@option("--id", "qid", default=None, help="Id of QUESTION (it seeds the chains; default: a hash).")
@option("--answer", default=None, help="Gold answer of QUESTION, to grade it.")
@chains_option("Chains the controller may open.")
@sampling_options
@speculation_options
@kappa_probe_option
@budget_option
@match_option
@option("--trace", "trace_file", default=None, metavar="FILE", help="Write the action logs.")
@option("--json", "as_json", is_flag=True, help="One JSON object per question.")
def solve(
    question: str | None,
    controller: str,
    params: tuple[str, ...],
    beta: float | None,
    questions_file: str | None,
    qid: str | None,
    answer: str | None,
    chains: int,
    speculate: bool,
    prefetch: int,
    kappa_probe: float,
    budget: float | None,
    match: str,
    trace_file: str | None,
    as_json: bool,
    **opts: Any,
) -> None:
    """Answer QUESTION (or every question of --questions) with a controller running live:
    branch, continue, probe, prune and read become requests to the model, charged as on
    replay. Prints the answer, tokens charged, tokens generated (speculative ones apart),
    probe tokens, sequential tokens and wall time.

    Chains are seeded by (question id, chain index), as in `autotts collect`: with the same
    sampling options, chain i here is chain i of the collected environment.

    Over several questions a summary follows (with --json, a last line {"summary": {...}}):
    only questions with an answer are graded, and it says how many were. Ctrl-C keeps the
    answers (and action logs) finished so far, prints the summary and exits 130.

    \b
    Example:
      autotts solve --base-url http://localhost:8000/v1 --model Qwen/Qwen3-4B \\
          --controller cmc --beta 0.5 "What is the sum of the first 100 primes?"
    """
    import hashlib

    from ..controllers import ControllerSpec, make_solver
    from ..live import LiveError, LiveOptions, QuestionItem, read_questions, solve_live

    if (question is None) == (questions_file is None):
        raise CliError("give either a QUESTION or --questions FILE.jsonl")
    if questions_file is not None and (qid is not None or answer is not None):
        raise CliError("--id and --answer go with a QUESTION, not with --questions")
    if trace_file is not None:
        check_output_path(trace_file)
    controller = resolve_controller(controller)
    spec = ControllerSpec(controller, parse_params(params), controller_beta(controller, beta))
    make_solver(spec)  # a bad controller or parameter fails before any request
    settings = make_settings(opts)
    if question is not None:
        if not question.strip():
            raise CliError("the QUESTION is empty")
        qid = qid or hashlib.sha256(question.encode()).hexdigest()[:12]
        items = [QuestionItem(qid, question, answer)]
    else:
        assert questions_file is not None
        items = read_questions(questions_file, need_answer=False)
    options = LiveOptions(
        n_chains=chains,
        kappa_probe=kappa_probe,
        budget=budget,
        match=match,
        concurrency=opts["concurrency"],
        speculate=speculate,
        prefetch=prefetch,
    )
    client = make_client(opts)
    sampler, _ = make_sampler(client, settings, items[0].question, opts)
    results: list[LiveResult] = []
    from concurrent.futures import ThreadPoolExecutor

    pool = ThreadPoolExecutor(opts["concurrency"], thread_name_prefix="solve")
    interrupted = False
    try:
        for item in items:
            r = solve_live(sampler, item, spec, options, executor=pool)
            results.append(r)
            click.echo(json.dumps(r.to_json()) if as_json else _line(r))
            sys.stdout.flush()
    except LiveError as e:
        raise CliError(str(e)) from None
    except KeyboardInterrupt:  # Ctrl-C: keep and report what is finished
        interrupted = True
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        client.close()
        if trace_file is not None and results:
            _write_trace(trace_file, results, spec, opts["model"], settings.to_dict(), options)
    if len(items) > 1 or interrupted:
        summary = _summary(results, len(items), interrupted)
        click.echo(json.dumps({"summary": summary}) if as_json else _summary_line(summary))
    if interrupted:
        click.echo(
            f"autotts: interrupted after {len(results)} of {len(items)} question(s); the "
            "answers above are those finished"
            + (f" (their action logs are in {trace_file})" if trace_file and results else ""),
            err=True,
        )
        raise click.exceptions.Exit(130)
    if results and all(r.error for r in results):
        raise CliError(f"the controller raised on every question; first: {results[0].error}")


def _summary(results: list[LiveResult], total: int, interrupted: bool) -> dict[str, Any]:
    """What a run over several questions comes to. Only questions with a gold answer are
    graded; one whose controller raised counts as wrong, as in ``evaluate``."""
    n = len(results)
    graded = [r for r in results if r.gold is not None]
    correct = sum(r.correct is True for r in graded)
    return {
        "questions": total,
        "finished": n,
        "interrupted": interrupted,
        "graded": len(graded),
        "without_answer": n - len(graded),
        "correct": correct,
        "accuracy": round(100 * correct / len(graded), 6) if graded else None,
        "errors": sum(r.error is not None for r in results),
        "tokens_per_question": round(sum(r.tokens for r in results) / n, 3) if n else None,
        "seconds_per_question": round(sum(r.seconds for r in results) / n, 3) if n else None,
    }


def _summary_line(s: dict[str, Any]) -> str:
    """``2 questions, 1 graded: 100.0% correct (1 without an answer), ...``."""
    n, graded = s["finished"], s["graded"]
    head = f"{n} questions" if not s["interrupted"] else f"{n} of {s['questions']} questions"
    if graded == n and n:
        head += f": {s['accuracy']:.1f}% correct"
    elif graded:
        head += f", {graded} graded: {s['accuracy']:.1f}% correct ({n - graded} without an answer)"
    elif n:
        head += " (none has an answer to grade)"
    if s["interrupted"]:
        head += " (interrupted)"
    if not n:
        return head
    return (
        f"{head}, {s['tokens_per_question']:,.0f} tokens per question, "
        f"{s['seconds_per_question']:.2f} s per question"
    )


def _write_trace(
    path: str,
    results: list[LiveResult],
    spec: Any,
    model: str,
    settings: dict[str, Any],
    options: Any,
) -> None:
    """The action logs: per question, Session.trace() as {kind, chain, tokens, cost} records."""
    from dataclasses import asdict

    from ..live import trace_records

    doc = {
        "autotts_trace": 1,
        "model": model,
        "controller": spec.spec,
        "params": spec.params,
        "beta": spec.beta,
        "sampling": settings,
        "options": asdict(options),
        "episodes": [
            {
                "question_id": r.question_id,
                "answer": r.answer,
                "gold": r.gold,
                "error": r.error,
                "actions": trace_records(r.trace),
            }
            for r in results
        ],
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
