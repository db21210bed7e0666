"""Compiled building blocks of the fast path: the Session's actions with its charging and
budget rules (``autotts.env.session``), and the vote tallies of the rendered code.

State lives in small integer arrays (see :mod:`.layout`): ``S`` the session's opened chains,
``C`` the controller's per-chain lists, ``sc`` the scalars. ``ev`` is one question under one
replicate: ``(probe0, probes, tokens, finals, order, c0, interval, kappa, has_budget, budget)``
with chain ``j`` of the question at global row ``c0 + j``.

Tallies are insertion-ordered like the rendered code's dicts: ``keys[:nk]`` holds the answers
in first-seen order, ``cnt[answer]`` their counts (reset to 0 by :func:`clear` after use).
"""

from __future__ import annotations

from typing import Any

from numba import njit

from . import layout as L
from .layout import cache_ok

REFUSED = -2  # the budget refused the action (nothing changed)
INVALID = -3  # the action is not allowed (the rendered code would raise InvalidAction)
DEPENDS = "78786b92ea954369"  # sources_stamp("layout.py"): see layout.cache_ok
_CACHE = cache_ok(DEPENDS, "layout.py")
# no reference counting (numba's runtime off): the kernel allocates nothing, and the counts
# on every array passed to a helper cost more than the episode's own work
JIT: dict[str, Any] = {"cache": _CACHE, "_nrt": False}


@njit(**JIT)
def budget_ok(sc, ev, cost):
    """Session._check_budget: ``cost + tokens + kappa * probes > budget`` refuses."""
    if not ev[8]:
        return True
    now = sc[L.TOKENS] + ev[7] * sc[L.N_PROBES]
    if now + cost > ev[9]:
        sc[L.TRUNCATED] = 1
        return False
    return True


@njit(**JIT)
def branch(S, sc, ev):
    """Open the next chain of the order; its index, or REFUSED."""
    probe0, tokens, order, c0, interval = ev[0], ev[2], ev[4], ev[5], ev[6]
    k = sc[L.N_OPEN]
    g = c0 + order[k]
    has_probes = probe0[g + 1] > probe0[g]
    cost = interval if has_probes else tokens[g]
    if not budget_ok(sc, ev, cost):
        return REFUSED
    S[L.SJ, k] = g
    S[L.SPOS, k] = 1 if has_probes else 0
    S[L.SCHARGED, k] = cost
    S[L.SSTATE, k] = L.RUNNING if has_probes else L.FINISHED
    sc[L.N_OPEN] = k + 1
    sc[L.TOKENS] += cost
    return k


@njit(**JIT)
def advance(S, sc, ev, i, times):
    """Advance chain ``i`` up to ``times`` intervals, each checked against the budget:
    1 finished, 0 not, REFUSED (earlier intervals stay charged), INVALID."""
    if i < 0 or i >= sc[L.N_OPEN] or S[L.SSTATE, i] != L.RUNNING or times < 1:
        return INVALID
    probe0, tokens, interval = ev[0], ev[2], ev[6]
    g = S[L.SJ, i]
    n = probe0[g + 1] - probe0[g]
    for _ in range(times):
        pos = S[L.SPOS, i]
        if pos < n:
            cost = interval
            done = False
        else:
            cost = max(0, tokens[g] - S[L.SCHARGED, i])
            done = True
        if not budget_ok(sc, ev, cost):
            return REFUSED
        if done:
            S[L.SSTATE, i] = L.FINISHED
        else:
            S[L.SPOS, i] = pos + 1
        S[L.SCHARGED, i] += cost
        sc[L.TOKENS] += cost
        if done:
            return 1
    return 0


@njit(**JIT)
def probe(S, sc, ev, i):
    """Chain ``i``'s current answer (its final once finished), or REFUSED / INVALID."""
    if i < 0 or i >= sc[L.N_OPEN] or S[L.SSTATE, i] == L.PRUNED:
        return INVALID
    if ev[7] != 0.0 and not budget_ok(sc, ev, ev[7]):
        return REFUSED
    g = S[L.SJ, i]
    sc[L.N_PROBES] += 1
    if S[L.SSTATE, i] == L.FINISHED:
        return ev[3][g]
    return ev[1][ev[0][g] + S[L.SPOS, i] - 1]


@njit(**JIT)
def prune(S, sc, i):
    if i < 0 or i >= sc[L.N_OPEN] or S[L.SSTATE, i] != L.RUNNING:
        return INVALID
    S[L.SSTATE, i] = L.PRUNED
    return 0


@njit(**JIT)
def clear(cnt, keys, nk):
    for t in range(nk):
        cnt[keys[t]] = 0


@njit(**JIT)
def leader(keys, nk, cnt, ignore):
    """voting.leader over the tally, ERR set aside when ``ignore`` and another answer exists
    (the rendered ``top``): (winner, top1, top2)."""
    skip = False
    if ignore:
        for t in range(nk):
            if keys[t] != L.ERR_CODE:
                skip = True
                break
    winner = L.NONE_CODE
    top1 = 0
    top2 = 0
    for t in range(nk):
        a = keys[t]
        if skip and a == L.ERR_CODE:
            continue
        c = cnt[a]
        if c > top1:
            top2 = top1
            top1 = c
            winner = a
        elif c > top2:
            top2 = c
    return winner, top1, top2


@njit(**JIT)
def count_current(C, sc, cnt, keys):
    """The rendered ``current()``: latest answers of chains not pruned, in chain order."""
    nk = 0
    for k in range(sc[L.N_LATEST]):
        if C[L.CPRUNED, k] == 0:
            a = C[L.CLATEST, k]
            if cnt[a] == 0:
                keys[nk] = a
                nk += 1
            cnt[a] += 1
    return nk


@njit(**JIT)
def top_current(C, sc, cnt, keys, ignore):
    nk = count_current(C, sc, cnt, keys)
    out = leader(keys, nk, cnt, ignore)
    clear(cnt, keys, nk)
    return out


@njit(**JIT)
def first_max(keys, nk, ftally, ignore):
    """``max(tally, key=tally.get)`` after the rendered ERR clean-up: the first maximal."""
    skip = False
    if ignore:
        for t in range(nk):
            if keys[t] != L.ERR_CODE:
                skip = True
                break
    best = L.NONE_CODE
    value = 0.0
    for t in range(nk):
        a = keys[t]
        if skip and a == L.ERR_CODE:
            continue
        if best == L.NONE_CODE or ftally[a] > value:
            best = a
            value = ftally[a]
    return best


@njit(**JIT)
def stable_sort(items, n, keyv):
    """Sort ``items[:n]`` in place by ``keyv[item]`` ascending, keeping the order of equals
    (Python's sorted)."""
    for t in range(1, n):
        x = items[t]
        kx = keyv[x]
        u = t - 1
        while u >= 0 and keyv[items[u]] > kx:
            items[u + 1] = items[u]
            u -= 1
        items[u + 1] = x


@njit(**JIT)
def round_half_even(x):
    """Python's round() of a non-negative float, as an int."""
    r = int(x)
    d = x - r
    if d > 0.5 or (d == 0.5 and r % 2 == 1):
        r += 1
    return r


@njit(**JIT)
def vote(ch, st, S, C, sc, live, pool_keys, pool_cnt, cnt, keys, ftally):
    """The rendered answer(): the chosen vote, else the leader of current()."""
    ignore = ch[L.CH_IGNORE] == 1
    v = ch[L.CH_VOTE]
    if v == L.V_FINISHED:
        if sc[L.N_POOL] > 0:
            return leader(pool_keys, sc[L.N_POOL], pool_cnt, ignore)[0]
    elif v == L.V_WEIGHTED:
        nk = 0
        for t in range(sc[L.N_POOL]):
            a = pool_keys[t]
            keys[nk] = a
            nk += 1
            cnt[a] = 1
            ftally[a] = float(pool_cnt[a])
        for t in range(sc[L.N_LIVE]):
            i = live[t]
            w = st[L.WEIGHT] * C[L.CDEPTH, i] / (C[L.CDEPTH, i] + 8)
            a = C[L.CLATEST, i]
            if cnt[a] == 0:
                keys[nk] = a
                nk += 1
                cnt[a] = 1
                ftally[a] = 0.0
            ftally[a] = ftally[a] + w
        if nk > 0:
            best = first_max(keys, nk, ftally, ignore)
            clear(cnt, keys, nk)
            return best
    elif v in (L.V_SHORTER, L.V_STEADY):
        shortest = -1
        for i in range(sc[L.N_LATEST]):
            if C[L.CDONE, i] and (shortest < 0 or S[L.SCHARGED, i] < shortest):
                shortest = S[L.SCHARGED, i]
        if shortest >= 0:
            nk = 0
            for i in range(sc[L.N_LATEST]):
                if not C[L.CDONE, i]:
                    continue
                if v == L.V_SHORTER:
                    w = (shortest / max(1, S[L.SCHARGED, i])) ** st[L.GAMMA]
                else:
                    w = 1 + st[L.LEAN] * min(C[L.CSAME, i], 8) / 8
                a = C[L.CLATEST, i]
                if cnt[a] == 0:
                    keys[nk] = a
                    nk += 1
                    cnt[a] = 1
                    ftally[a] = 0.0
                ftally[a] = ftally[a] + w
            best = first_max(keys, nk, ftally, ignore)
            clear(cnt, keys, nk)
            return best
    return top_current(C, sc, cnt, keys, ignore)[0]
