"""The openai and agent proposers against a scripted endpoint and a scripted agent."""

import sys
import textwrap
from typing import Any

import pytest

from autotts.discover.proposers import Context, CostLimitReached, ProposalError, extract_code
from autotts.discover.proposers.agent import AgentProposer
from autotts.discover.proposers.llm import OpenAIProposer
from tests.scripted_server import Reply, ScriptedServer, chat_reply

from .candidates import GOOD, reply


def _ctx(**kw: Any) -> Context:
    base: dict[str, Any] = dict(
        round=0, slot=0, seed=7, seeds={"cmc": "# cmc source"}, digest="DIGEST-TEXT", best=None
    )
    base.update(kw)
    return Context(**base)


def _proposer(server, **kw):
    return OpenAIProposer(model="m", base_url=server.url, api_key="k", **kw)


def test_extract_code_takes_the_controller_block():
    code, name, _rationale = extract_code("I think.\n```python\nx=1\n```\n" + reply(GOOD, ""))
    assert name == "Widen" and "def solve" in code
    with pytest.raises(ValueError, match="no ```python code block"):
        extract_code("no code here")
    with pytest.raises(ValueError, match="no class subclassing Controller"):
        extract_code("```python\nx = 1\n```")
    with pytest.raises(ValueError, match="characters long"):
        extract_code("x" * 100_001, max_chars=100_000)


def test_openai_proposer_parses_and_prices():
    with ScriptedServer(
        chat=lambda b: chat_reply(reply(GOOD), prompt_tokens=1000, completion_tokens=500)
    ) as s:
        p = _proposer(s, price_in=2.0, price_out=10.0).propose(_ctx())
        sent = s.requests[0].body
    assert p.class_name == "Widen" and p.rationale.startswith("Because")
    assert (p.tokens_in, p.tokens_out) == (1000, 500)
    assert p.cost_usd == pytest.approx((1000 * 2 + 500 * 10) / 1e6)
    assert "DIGEST-TEXT" in sent["messages"][1]["content"]
    assert "session.branch()" in sent["messages"][0]["content"]
    assert sent["seed"] == 7


def test_malformed_reply_is_retried_once_with_the_error():
    replies = iter([chat_reply("no code at all"), chat_reply(reply(GOOD))])
    with ScriptedServer(chat=lambda b: next(replies)) as s:
        p = _proposer(s).propose(_ctx())
        second = s.requests[1].body["messages"]
    assert p.class_name == "Widen"
    assert "no ```python code block" in second[-1]["content"]
    assert p.tokens_in == 200  # both calls are paid for


def test_malformed_twice_fails_with_the_exchange_recorded():
    with (
        ScriptedServer(chat=lambda b: chat_reply("still no code")) as s,
        pytest.raises(ProposalError, match="malformed reply after a retry") as e,
    ):
        _proposer(s).propose(_ctx())
    assert e.value.proposal is not None and "still no code" in (e.value.proposal.response or "")


def test_huge_reply_is_malformed():
    huge = reply(GOOD) + "#" * 200_000
    with (
        ScriptedServer(chat=lambda b: chat_reply(huge)) as s,
        pytest.raises(ProposalError, match="characters long"),
    ):
        _proposer(s).propose(_ctx())


def test_slow_reply_times_out():
    with ScriptedServer(chat=lambda b: Reply(json=chat_reply(reply(GOOD)), delay=5)) as s:
        p = OpenAIProposer(model="m", base_url=s.url, api_key="k", timeout_s=0.3)
        p.client = p.client.with_options(max_retries=0)
        with pytest.raises(ProposalError, match="no reply within the timeout"):
            p.propose(_ctx())


def test_http_errors_become_proposal_errors():
    with ScriptedServer(chat=lambda b: Reply(status=500)) as s:
        p = _proposer(s)
        p.client = p.client.with_options(max_retries=0)
        with pytest.raises(ProposalError, match="HTTP 500"):
            p.propose(_ctx())


def test_cost_limit_stops_before_the_next_call():
    with ScriptedServer(
        chat=lambda b: chat_reply(reply(GOOD), prompt_tokens=10**6, completion_tokens=0)
    ) as s:
        p = _proposer(s, price_in=1.0, max_cost_usd=1.5)
        p.propose(_ctx())
        p.propose(_ctx())  # $1 spent < $1.5: allowed
        with pytest.raises(CostLimitReached):
            p.propose(_ctx())
        assert len(s.requests) == 2


AGENT = textwrap.dedent("""
    import pathlib, sys
    ws = pathlib.Path.cwd()
    assert (ws / "API.md").exists() and (ws / "HISTORY.md").read_text() == "DIGEST-TEXT"
    names = sorted(p.name for p in (ws / "envs").iterdir())
    (ws / "controller.py").write_text(open(sys.argv[1]).read())
    (ws / "RATIONALE.md").write_text("envs: " + ",".join(names))
""")


def test_agent_proposer_collects_the_edited_file(tmp_path):
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    source = tmp_path / "good.py"
    source.write_text(GOOD)
    env = tmp_path / "m" / "search.json"
    env.parent.mkdir()
    env.write_text("{}")
    agent = AgentProposer(f"{sys.executable} {script} {source}", tmp_path / "ws", timeout_s=60)
    p = agent.propose(_ctx(search_envs=[env]))
    assert p.class_name == "Widen"
    assert p.rationale == "envs: 0_m_search.json"


def test_agent_failures_are_reasons(tmp_path):
    noop = AgentProposer(f"{sys.executable} -c pass", tmp_path / "ws")
    with pytest.raises(ProposalError, match="unchanged"):
        noop.propose(_ctx())
    failing = AgentProposer(f"{sys.executable} -c 'raise SystemExit(3)'", tmp_path / "ws")
    with pytest.raises(ProposalError, match="status 3"):
        failing.propose(_ctx())
    slow = AgentProposer(
        f"{sys.executable} -c 'import time; time.sleep(30)'", tmp_path / "ws", timeout_s=0.5
    )
    with pytest.raises(ProposalError, match="did not finish"):
        slow.propose(_ctx())
    with pytest.raises(ProposalError, match="cannot run"):
        AgentProposer("/nonexistent/agent", tmp_path / "ws").propose(_ctx())
