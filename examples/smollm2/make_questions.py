"""Questions for the end-to-end example: single-digit additions ("What is 3 + 4?"), a search
split and a held-out split of 24 questions each (all 81 pairs shuffled with seed 0, so the two
share no question). Usage: ``python make_questions.py OUT_DIR`` writes ``search.jsonl`` and
``heldout.jsonl``."""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

PER_SPLIT = 24


def main(out: Path) -> None:
    pairs = [(a, b) for a in range(1, 10) for b in range(1, 10)]
    random.Random(0).shuffle(pairs)
    out.mkdir(parents=True, exist_ok=True)
    for name, chunk in (("search", pairs[:PER_SPLIT]), ("heldout", pairs[PER_SPLIT:][:PER_SPLIT])):
        lines = [
            json.dumps(
                {"id": f"add-{a}-{b}", "question": f"What is {a} + {b}?", "answer": str(a + b)}
            )
            for a, b in chunk
        ]
        (out / f"{name}.jsonl").write_text("\n".join(lines) + "\n")
    print(f"{out}/search.jsonl, {out}/heldout.jsonl: {PER_SPLIT} additions each")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "."))
