"""The ``agent`` proposer: a coding-agent CLI (``claude -p``, ``codex exec``, ...) edits a
controller file in a scratch workspace.

The workspace holds the API and contract (API.md), the task (TASK.md), the history digest
(HISTORY.md), seed controllers (seeds/), the search split's environment files (envs/, copies:
never the held-out split), and ``controller.py`` to edit, starting from the best candidate so far.
The command runs there with the task as its last argument and a timeout; the edited file is the
candidate, and RATIONALE.md (if the agent wrote one) its rationale.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
from pathlib import Path

from ..prompt import API_DOC, REPLY_FORMAT, TASK
from .base import Context, Proposal, ProposalError, controller_class_name

INSTRUCTION = (
    "Read TASK.md, API.md and HISTORY.md in this directory, then edit controller.py into a "
    "better controller (you may evaluate it on the files in envs/ with `autotts evaluate "
    "--env envs/*.json --controller controller.py:CLASS --beta 0:1:0.25`). Write a few "
    "sentences on what you changed and why to RATIONALE.md."
)

STARTER = '''"""Starting point: replace with your controller."""

from collections import Counter

from autotts.controllers import Controller, leader


class Candidate(Controller):
    name = "candidate"
    uses_beta = True

    @classmethod
    def schedule(cls, beta):
        return {"width": 2 + round(30 * beta)}

    def solve(self, session):
        answers = session.read(min(self.settings["width"], session.n_available))
        return leader(Counter(answers))[0]
'''


class AgentProposer:
    name = "agent"

    def __init__(self, command: str, workspace_root: Path, timeout_s: float = 1800.0) -> None:
        self.argv = shlex.split(command)
        if not self.argv:
            raise ValueError("--agent-cmd is empty")
        self.root = workspace_root
        self.timeout_s = timeout_s

    def _prepare(self, ws: Path, context: Context) -> None:
        if ws.exists():
            shutil.rmtree(ws)
        (ws / "seeds").mkdir(parents=True)
        (ws / "envs").mkdir()
        (ws / "API.md").write_text(API_DOC)
        (ws / "TASK.md").write_text(TASK + "\nEdit controller.py in place. " + REPLY_FORMAT)
        (ws / "HISTORY.md").write_text(context.digest)
        for name, code in context.seeds.items():
            (ws / "seeds" / f"{name}.py").write_text(code)
        for i, env in enumerate(context.search_envs):
            src = Path(env)
            shutil.copyfile(src, ws / "envs" / f"{i}_{src.parent.name}_{src.name}")
        start = context.best[1] if context.best else STARTER
        (ws / "controller.py").write_text(start)

    def propose(self, context: Context) -> Proposal:
        ws = self.root / f"round{context.round}-slot{context.slot}"
        self._prepare(ws, context)
        before = (ws / "controller.py").read_text()
        argv = [*self.argv, INSTRUCTION]
        proposal = Proposal("", "", "", list(context.best_ids[:1]), prompt=INSTRUCTION)
        with open(ws / "agent.log", "wb") as log:
            try:
                proc = subprocess.Popen(
                    argv,
                    cwd=ws,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            except OSError as e:
                raise ProposalError(f"cannot run {argv[0]!r}: {e.strerror}", proposal) from None
            try:
                rc = proc.wait(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise ProposalError(
                    f"the agent did not finish within {self.timeout_s:g} s", proposal
                ) from None
        proposal.response = (ws / "agent.log").read_text(errors="replace")[-20_000:]
        if rc != 0:
            raise ProposalError(f"the agent exited with status {rc}", proposal)
        code = (ws / "controller.py").read_text()
        if code == before:
            raise ProposalError("the agent left controller.py unchanged", proposal)
        try:
            proposal.class_name = controller_class_name(code)
        except ValueError as e:
            raise ProposalError(f"controller.py: {e}", proposal) from None
        proposal.code = code
        rationale = ws / "RATIONALE.md"
        proposal.rationale = rationale.read_text()[:4000] if rationale.exists() else ""
        return proposal
