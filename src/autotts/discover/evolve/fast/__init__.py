"""The evolve fast path: genomes interpreted by trusted, compiled project code (numba).

A genome is data; :func:`run_genome` plays its controller on an environment encoded once by
:func:`prepare`, with exactly the answers, tokens, costs, sequential tokens and truncation of
its rendered code run through the evaluator (``tests/discover/evolve/test_fast_identity.py``
checks this option by option). :func:`eval_results` turns the runs into the evaluator's
records. Call :func:`warm_up` in a parent process before forking workers.
"""

from .encode import FastEnv, prepare
from .layout import OPTIONS
from .run import Runs, eval_results, run_genome, warm_up

__all__ = ["OPTIONS", "FastEnv", "Runs", "eval_results", "prepare", "run_genome", "warm_up"]
