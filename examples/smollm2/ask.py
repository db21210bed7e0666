"""Ask an ``autotts serve`` endpoint every question of a questions file, all at once, with the
``openai`` SDK, and print what came back: accuracy, tokens the model generated (``usage``) and
tokens charged, per controller. ``--also NAME`` asks again with another registered controller
through ``extra_body`` (``{"autotts": {"controller": NAME}}``), for comparison.

Usage: ``python ask.py URL QUESTIONS.jsonl [--model M] [--also cmc]``.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import openai


def ask_all(client: openai.OpenAI, model: str, items: list[dict[str, Any]], extra: Any) -> None:
    def ask(item: dict[str, Any]) -> Any:
        return client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": item["question"]}],
            extra_body=extra,
        )

    start = time.monotonic()
    with ThreadPoolExecutor(len(items)) as pool:
        replies = list(pool.map(ask, items))
    seconds = time.monotonic() - start
    right = generated = charged = 0
    for item, reply in zip(items, replies, strict=True):
        figures = (reply.model_extra or {})["autotts"]
        right += figures["answer"] == str(item["answer"])
        generated += reply.usage.completion_tokens
        charged += figures["tokens_charged"]
    n = len(items)
    label = (extra or {}).get("autotts", {}).get("controller", "served controller")
    print(
        f"{label}: {right}/{n} right ({100 * right / n:.1f} %), "
        f"{generated / n:.0f} tokens generated and {charged / n:.0f} charged per question, "
        f"{seconds:.1f} s for {n} concurrent requests"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("questions")
    ap.add_argument("--model", default="smollm2")
    ap.add_argument("--also", action="append", default=[])
    args = ap.parse_args()
    with open(args.questions, encoding="utf-8") as f:
        items = [json.loads(line) for line in f if line.strip()]
    client = openai.OpenAI(base_url=args.url, api_key="none", max_retries=0, timeout=1800)
    ask_all(client, args.model, items, None)
    for name in args.also:
        ask_all(client, args.model, items, {"autotts": {"controller": name}})


if __name__ == "__main__":
    main()
