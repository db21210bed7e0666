"""The same strategy as ``original_method.py``, written against autotts's own API.

    autotts evaluate --env ENV.json --controller examples/quorum.py:Quorum --beta 0:1:0.25

A beta-parameterized controller: ``schedule(beta)`` derives every setting from the one knob, and
more beta means more chains (a larger budget). ``solve`` holds decision logic only; the session
records every action and its cost.
"""

from collections import Counter

from autotts.controllers import Controller, leader
from autotts.env import Session


class Quorum(Controller):
    name = "quorum"
    uses_beta = True

    @classmethod
    def schedule(cls, beta: float) -> dict[str, int]:
        width = min(16, max(2, round(2 + 14 * beta)))
        return {"width": width, "quorum": max(2, round(width * 0.5))}

    def solve(self, session: Session) -> str | None:
        width, quorum = self.settings["width"], self.settings["quorum"]
        latest: list[str] = []
        for _ in range(width):
            latest.append(session.probe(session.branch()))
        while True:
            finished = Counter(a for i, a in enumerate(latest) if session.is_finished(i))
            winner, top, _ = leader(finished)
            if top >= quorum:
                return winner
            running = session.live()
            if not running:
                return leader(Counter(latest))[0]
            for i in running:
                latest[i], _ = session.step(i)
