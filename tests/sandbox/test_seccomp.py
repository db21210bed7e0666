"""The seccomp filter's system call numbers, and how a missing OS layer is reported."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from autotts.sandbox import Candidate, Limits, describe_candidate, jail_status
from autotts.sandbox.seccomp import (
    CONDITIONAL_X86_64,
    DENIED_X86_64,
    ENOSYS_X86_64,
    filter_program,
)

from .conftest import LIMITS, candidate

HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")


def test_syscall_numbers_match_the_kernel_headers() -> None:
    if not HEADER.exists():
        pytest.skip(f"{HEADER} is not installed (Debian: linux-libc-dev)")
    numbers = dict(re.findall(r"#define __NR_(\w+) (\d+)", HEADER.read_text()))
    table = {**DENIED_X86_64, **CONDITIONAL_X86_64, **ENOSYS_X86_64}
    wrong = {k: (v, numbers.get(k)) for k, v in table.items() if str(v) != numbers.get(k)}
    assert wrong == {}


def test_the_program_is_whole_instructions_and_short_jumps() -> None:
    program = filter_program(1234)
    assert len(program) % 8 == 0 and len(program) // 8 < 4096  # the kernel's limit


def test_a_missing_jail_is_said_once_and_can_be_required(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from autotts.sandbox import jail

    monkeypatch.setenv("AUTOTTS_SANDBOX_JAIL", "off")
    monkeypatch.setattr(jail, "_warned", set())
    jail_status.cache_clear()
    try:
        source = candidate("return None")
        for _ in range(2):
            assert describe_candidate(Candidate(source, "C"), limits=LIMITS).ok
        err = capfd.readouterr().err
        assert err.count("sandbox layer missing: OS namespaces (bubblewrap)") == 1
        assert "--require-jail makes this an error" in err
        strict = Limits(timeout_s=30, memory_mb=768, require_jail=True)
        out = describe_candidate(Candidate(source, "C"), limits=strict)
        assert out.status == "error" and "no OS jail on this host" in out.reason
        assert "(--require-jail)" in out.reason
    finally:
        jail_status.cache_clear()


def test_a_missing_seccomp_layer_can_be_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOTTS_SANDBOX_SECCOMP", "off")
    out = describe_candidate(
        Candidate(candidate("return None"), "C"),
        limits=Limits(timeout_s=30, memory_mb=768, require_jail=True),
    )
    if not jail_status().available:
        assert "no OS jail" in out.reason
    else:
        assert out.status == "error" and "sandbox layer missing" in out.reason
        assert "AUTOTTS_SANDBOX_SECCOMP=off" in out.reason


def test_require_jail_comes_from_the_environment_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUTOTTS_REQUIRE_JAIL", "1")
    monkeypatch.setenv("AUTOTTS_SANDBOX_JAIL", "off")
    jail_status.cache_clear()
    try:
        limits = Limits(timeout_s=30, memory_mb=768)
        assert limits.require_jail
        out = describe_candidate(Candidate(candidate("return None"), "C"), limits=limits)
        assert out.status == "error" and "(--require-jail)" in out.reason
    finally:
        jail_status.cache_clear()
