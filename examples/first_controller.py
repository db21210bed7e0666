"""A first controller: open chains one at a time, follow each to its end, and stop as soon as
the finished answers agree confidently enough. Beta is the one knob: more beta, more chains
allowed and a higher confidence bar, so more tokens.

    autotts evaluate --env demo.json --controller examples/first_controller.py --betas 0,0.5,1
"""

from autotts.controllers import Controller, beta_confidence, leader


class FirstConfident(Controller):
    name = "first_confident"
    uses_beta = True

    @classmethod
    def schedule(cls, beta):
        # every setting follows from beta; the instance finds them in self.settings
        return {"max_chains": round(2 + 30 * beta), "confidence": 0.6 + 0.35 * beta}

    def solve(self, session):
        s = self.settings
        finals = []  # final answers of the finished chains, in finishing order
        for _ in range(min(s["max_chains"], session.n_available)):
            i = session.branch()  # open the next chain (one interval of tokens)
            finished = session.is_finished(i)
            answer = session.probe(i) if finished else None
            while not finished:
                answer, finished = session.step(i)  # one more interval, then read its answer
            finals.append(answer)  # a finished chain's answer is its final one
            winner, top1, top2 = leader(finals)  # votes of the leader and of the runner-up
            if len(finals) >= 2 and beta_confidence(top1, top2) >= s["confidence"]:
                return winner
        return leader(finals)[0]
