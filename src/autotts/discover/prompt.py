"""What a proposer is told: the environment API, the controller contract, the task.

Written once here so the LLM proposer's prompt and the agent proposer's workspace say the same
thing. Only search-split material is ever put in (the loop builds the digest from it).
"""

from __future__ import annotations

from collections.abc import Sequence
from importlib import resources

from .contract import CONTRACT_TEXT

API_DOC = (
    """\
# The controller API

A controller decides, for one math question, how to spend tokens on parallel reasoning chains
sampled from a reasoning LLM, and which answer to give. Each question has up to 64 chains
available (pre-collected; chain order is reshuffled per replicate). Chain answers can be probed
every interval (500 tokens) of reasoning.

```python
from autotts.controllers import Controller, leader, vote, beta_confidence

class MyController(Controller):
    name = "my_controller"
    uses_beta = True            # the one knob: beta in [0, 1]

    @classmethod
    def schedule(cls, beta: float) -> dict:
        # every internal setting derived from beta; more beta => more budget
        return {"width": 2 + round(14 * beta), "patience": 2 + round(6 * beta)}

    def solve(self, session) -> str | None:
        s = self.settings       # the dict schedule(beta) returned
        ...
        return answer           # a string (the final answer)
```

## Session actions (chains are numbered 0, 1, ... in the order they were opened)
- `session.branch() -> int`: open the next chain and generate its first interval; returns its
  index. Raises an error when all chains are open (`session.n_available` chains exist).
- `session.step(i, n=1) -> (answer, finished)`: advance chain i by n intervals, then probe it:
  its current answer (its final answer if it finished) and whether it has finished.
- `session.advance(i, n=1) -> finished`: advance without probing.
- `session.probe(i) -> answer`: read chain i's current answer (costs `session.kappa_probe`).
- `session.read(k=1) -> [final answers]`: open k new chains and run them to the end at once
  (charged their full length).
- `session.prune(i)`: drop a running chain; it can no longer be advanced or probed.
- Return the answer from `solve` (the ANSWER action is taken for you).
Answers are strings; "ERR" means the chain had no parseable answer at that point.

## Observations
`session.n_open`, `session.n_available`, `session.live()` (running chains),
`session.is_finished(i)`, `session.is_pruned(i)`, `session.chain_tokens(i)`,
`session.last_revealed(i)`, `session.tokens` (generated so far), `session.cost` (tokens +
kappa_probe * probes), `session.sequential_tokens` (the longest chain: a latency proxy),
`session.n_probes`, `session.interval`.

## Helpers from autotts.controllers
- `vote(answers) -> str | None`: the most common answer (first seen wins ties).
- `leader(counter) -> (winner, top_count, second_count)` for a `collections.Counter`.
- `beta_confidence(top, second) -> float`: the Beta-posterior probability that the leader is the
  true majority (as used by ASC).

## Rules (enforced: a candidate that breaks one is rejected with the reason)
- Imports only from: math, statistics, collections, itertools, functools, heapq, bisect,
  dataclasses, typing, numpy, scipy.stats, scipy.special, autotts.controllers.
- No eval/exec/compile/open/__import__/globals/vars/getattr/setattr/delattr, no access to
  underscore attributes except on self/cls, no dunder tricks, no files, no network, no threads.
- The controller sees only the session: no gold answers, no unrevealed probes. Do not try.
- At most 64 chains; time and memory are limited.
- Beta contract: exactly one knob (beta); `schedule(beta)` returns every internal setting;
  """
    + CONTRACT_TEXT
    + """.
"""
)

TASK = """\
Write a new controller that gets higher accuracy per token than the baselines on *held-out*
questions you will never see: aim for accuracy at least that of the best baseline at every
token budget, with fewer tokens. Generalize: prefer robust mechanisms to thresholds fitted to
these questions. You see each candidate's scaling curve on the search questions, what its
episodes did, and why candidates were rejected. Learn from the failures.
"""

REPLY_FORMAT = """\
Reply with a short rationale (a few sentences: what you change and why, given the evidence),
then exactly one ```python code block holding the complete controller module: one class
subclassing Controller, with uses_beta = True, schedule(beta) and solve(session).
"""


def seed_sources(names: Sequence[str] = ("cmc", "parallel_probe")) -> dict[str, str]:
    """Source of built-in controllers to show as seeds (they use relative imports inside
    autotts; a candidate imports from autotts.controllers instead)."""
    pkg = resources.files("autotts.controllers")
    return {n: pkg.joinpath(f"{n}.py").read_text() for n in names}


def system_prompt() -> str:
    return (
        "You design test-time-scaling controllers for reasoning LLMs: Python classes that decide "
        "when to open, advance, probe and prune reasoning chains and when to stop and answer.\n\n"
        + API_DOC
    )


def user_prompt(
    seeds: dict[str, str], digest: str, best: tuple[str, str] | None, round_: int, slot: int
) -> str:
    parts = [TASK, f"This is round {round_}, candidate {slot}."]
    for name, code in seeds.items():
        parts.append(f"## Seed controller `{name}` (built in)\n```python\n{code}```")
    if best is not None:
        parts.append(f"## Best candidate so far: {best[0]}\n```python\n{best[1]}```")
    parts.append("# History of this run (search split)\n" + digest)
    parts.append(REPLY_FORMAT)
    return "\n\n".join(parts)
