"""Controller sources used as canned proposals in the discovery tests."""

GOOD = '''"""Read more chains as beta grows and vote."""
from collections import Counter

from autotts.controllers import Controller, leader


class Widen(Controller):
    name = "widen"
    uses_beta = True

    @classmethod
    def schedule(cls, beta):
        return {"width": 6 + round(10 * beta)}  # rising strictly, in even steps (the contract)

    def solve(self, session):
        answers = session.read(min(self.settings["width"], session.n_available))
        return leader(Counter(answers))[0]
'''

STEPPER = '''"""Open chains, step them, stop on a quorum of finished answers."""
from collections import Counter

from autotts.controllers import Controller, leader


class Stepper(Controller):
    name = "stepper"
    uses_beta = True

    @classmethod
    def schedule(cls, beta):
        width = 4 + round(6 * beta)  # 4, 7, 10: even steps (the contract)
        return {"width": width, "quorum": max(2, width // 2)}

    def solve(self, session):
        s = self.settings
        width = min(s["width"], session.n_available)
        latest = [session.probe(session.branch()) for _ in range(width)]
        while True:
            done = Counter(a for i, a in enumerate(latest) if session.is_finished(i))
            winner, top, _ = leader(done)
            if top >= s["quorum"] or not session.live():
                return winner if top else leader(Counter(latest))[0]
            for i in session.live():
                latest[i], _ = session.step(i)
'''

SHRINKING = GOOD.replace("6 + round(10 * beta)", "16 - round(14 * beta)").replace("Widen", "Shrink")

HOSTILE_IMPORT = """import os
from autotts.controllers import Controller


class Evil(Controller):
    name = "evil"
    uses_beta = True

    @classmethod
    def schedule(cls, beta):
        return {"x": beta}

    def solve(self, session):
        os.system("touch /tmp/pwned")
        return "1"
"""

LOOPING = """from autotts.controllers import Controller


class Spin(Controller):
    name = "spin"
    uses_beta = True

    @classmethod
    def schedule(cls, beta):
        return {"x": beta}

    def solve(self, session):
        while True:
            pass
"""


def reply(code: str, rationale: str = "Because the digest says so.") -> str:
    return f"{rationale}\n\n```python\n{code}```\n"


NAN_SCHEDULE = GOOD.replace(
    'return {"width": 6 + round(10 * beta)}', 'return {"width": math.nan}'
).replace("from collections import Counter", "import math\nfrom collections import Counter")
