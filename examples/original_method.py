"""A controller written the way the original AutoTTS code expects (``method.py``).

It knows nothing of autotts: it takes ``config={"beta": b}``, receives a question object with
the original methods (probe_new, probe_more, get_new_branch_final_answer,
get_seq_and_total_tokens) and returns an answer. autotts runs it unchanged:

    autotts evaluate --env ENV.json --controller examples/original_method.py:OptimalController \
        --beta 0.5
"""

from collections import Counter

import numpy as np


class OptimalController:
    """Open a few branches, advance them in lockstep, stop when the finished ones agree."""

    def __init__(self, config=None, **kwargs):
        beta = float((config or {}).get("beta", 0.5))
        self.width = int(np.clip(round(2 + 14 * beta), 2, 16))
        self.quorum = max(2, round(self.width * 0.5))

    def solve(self, question):
        branches = []  # [index, latest answer, finished]
        for _ in range(self.width):
            answer, index, finished = question.probe_new()
            branches.append([index, answer, finished])
        while True:
            finals = Counter(b[1] for b in branches if b[2])
            if finals and finals.most_common(1)[0][1] >= self.quorum:
                return finals.most_common(1)[0][0]
            running = [b for b in branches if not b[2]]
            if not running:
                return Counter(b[1] for b in branches).most_common(1)[0][0]
            for b in running:
                b[1], b[2] = question.probe_more(b[0])
