"""The ``openai`` proposer: any OpenAI-compatible chat endpoint, through the ``openai`` SDK.

It sends our prompt (API, contract, seeds, history digest), takes the last fenced Python block
of the reply, and retries once, quoting the error, when the reply is malformed. Every call is
priced from its usage (``price_in``/``price_out`` in USD per million tokens) into a ledger; a
proposal that would start with the ledger at or over ``max_cost_usd`` raises
:class:`CostLimitReached` instead, so the run stops cleanly.
"""

from __future__ import annotations

from typing import Any

from ..prompt import system_prompt, user_prompt
from .base import Context, CostLimitReached, Proposal, ProposalError, extract_code


class OpenAIProposer:
    name = "openai"

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None,
        api_key: str,
        price_in: float = 0.0,
        price_out: float = 0.0,
        max_cost_usd: float | None = None,
        spent_usd: float = 0.0,
        timeout_s: float = 600.0,
        temperature: float | None = None,
        max_tokens: int | None = None,
    ) -> None:
        import openai  # lazily: the CLI starts without it

        self.model = model
        self.client = openai.OpenAI(
            base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=2
        )
        self.price_in = price_in
        self.price_out = price_out
        self.max_cost_usd = max_cost_usd
        self.spent_usd = spent_usd  # carried over on --resume
        self.temperature = temperature
        self.max_tokens = max_tokens

    def _cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.price_in + tokens_out * self.price_out) / 1e6

    def _ask(self, messages: list[dict[str, str]], seed: int) -> tuple[str, int, int]:
        import openai

        kwargs: dict[str, Any] = {"model": self.model, "messages": messages, "seed": seed}
        if self.temperature is not None:
            kwargs["temperature"] = self.temperature
        if self.max_tokens is not None:
            kwargs["max_tokens"] = self.max_tokens
        try:
            r = self.client.chat.completions.create(**kwargs)
        except openai.APITimeoutError:
            raise ProposalError(f"{self.model}: no reply within the timeout") from None
        except openai.APIStatusError as e:
            raise ProposalError(f"{self.model}: HTTP {e.status_code} from the endpoint") from None
        except openai.APIConnectionError as e:
            raise ProposalError(f"cannot reach the endpoint: {e}") from None
        except Exception as e:  # malformed JSON and the like
            raise ProposalError(f"{self.model}: bad response: {type(e).__name__}: {e}") from None
        usage = r.usage
        tin = usage.prompt_tokens if usage else 0
        tout = usage.completion_tokens if usage else 0
        content = r.choices[0].message.content if r.choices else None
        return content or "", tin, tout

    def propose(self, context: Context) -> Proposal:
        if self.max_cost_usd is not None and self.spent_usd >= self.max_cost_usd:
            raise CostLimitReached(
                f"spent ${self.spent_usd:.4f} of the ${self.max_cost_usd:g} limit"
            )
        prompt = user_prompt(
            context.seeds, context.digest, context.best, context.round, context.slot
        )
        messages = [
            {"role": "system", "content": system_prompt()},
            {"role": "user", "content": prompt},
        ]
        proposal = Proposal("", "", "", list(context.best_ids[:1]), prompt=prompt)
        responses = []
        for attempt in range(2):
            try:
                reply, tin, tout = self._ask(messages, context.seed + attempt)
            except ProposalError as e:
                e.proposal = proposal
                raise
            cost = self._cost(tin, tout)
            self.spent_usd += cost
            proposal.tokens_in += tin
            proposal.tokens_out += tout
            proposal.cost_usd += cost
            responses.append(reply)
            proposal.response = "\n\n----- retry -----\n\n".join(responses)
            try:
                code, class_name, rationale = extract_code(reply)
            except ValueError as e:
                if attempt == 1:
                    raise ProposalError(f"malformed reply after a retry: {e}", proposal) from None
                messages += [
                    {"role": "assistant", "content": reply[:20_000]},
                    {
                        "role": "user",
                        "content": f"That reply could not be used: {e}. Reply again with a "
                        "rationale and exactly one complete ```python code block.",
                    },
                ]
                continue
            proposal.code, proposal.class_name, proposal.rationale = code, class_name, rationale
            return proposal
        raise AssertionError("unreachable")
