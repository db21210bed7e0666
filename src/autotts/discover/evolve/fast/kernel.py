"""The compiled episode loop: the rendered ``solve`` (solve_code.py) line by line, on integer
answer codes, with the Session's charging (ops.py).

Every branch below names the rendered lines it mirrors. The rendered body runs its actions in
a ``try`` that answers with what was seen when the budget refuses one (render._within_budget),
and ``return answer()`` is the only way out of the step loop, so :func:`_act` simply returns
(0) at a refusal, a stop or the loop's end, and :func:`_answer` is the vote; 1 means an action
was invalid (the rendered code would raise: an episode error).
"""

from __future__ import annotations

from numba import njit

from . import layout as L
from .layout import cache_ok
from .ops import (
    INVALID,
    JIT,
    REFUSED,
    advance,
    branch,
    clear,
    count_current,
    leader,
    probe,
    prune,
    round_half_even,
    stable_sort,
    top_current,
    vote,
)

DEPENDS = "e3e12abb0f7a1582"  # sources_stamp("layout.py", "ops.py"): see layout.cache_ok
_JIT = {**JIT, "cache": cache_ok(DEPENDS, "layout.py", "ops.py")}


@njit(**_JIT)
def _open(k, S, C, sc, ev, live, pool_keys, pool_cnt):
    """open_chains(k): False when the budget refused an action."""
    for _ in range(k):
        i = branch(S, sc, ev)
        if i < 0:
            return False
        a = probe(S, sc, ev, i)
        if a < 0:
            return False
        C[L.CLATEST, i] = a
        C[L.CDEPTH, i] = 0
        C[L.COFF, i] = 0
        C[L.CFRESH, i] = 1
        C[L.CSAME, i] = 1
        C[L.CPRUNED, i] = 0
        sc[L.N_LATEST] = i + 1
        if S[L.SSTATE, i] == L.FINISHED:
            C[L.CDONE, i] = 1
            _pool_add(pool_keys, pool_cnt, sc, a)
        else:
            C[L.CDONE, i] = 0
            live[sc[L.N_LIVE]] = i
            sc[L.N_LIVE] += 1
    return True


@njit(**_JIT)
def _pool_add(pool_keys, pool_cnt, sc, a):
    if pool_cnt[a] == 0:
        pool_keys[sc[L.N_POOL]] = a
        sc[L.N_POOL] += 1
    pool_cnt[a] += 1


@njit(**_JIT)
def _keep_live(live, sc, C, row):
    """live = [i for i in live if not <row>[i]]"""
    m = 0
    for t in range(sc[L.N_LIVE]):
        i = live[t]
        if C[row, i] == 0:
            live[m] = i
            m += 1
    sc[L.N_LIVE] = m


@njit(**_JIT)
def _count_off(C, live, n, gated, target):
    for t in range(n):
        i = live[t]
        if gated:
            if C[L.CFRESH, i]:
                C[L.COFF, i] = C[L.COFF, i] + 1 if C[L.CLATEST, i] != target else 0
                C[L.CFRESH, i] = 0
        else:
            C[L.COFF, i] = C[L.COFF, i] + 1 if C[L.CLATEST, i] != target else 0


@njit(**_JIT)
def _prune_list(S, C, sc, items, n):
    for t in range(n):
        i = items[t]
        if prune(S, sc, i) == INVALID:
            return False
        C[L.CPRUNED, i] = 1
    return True


@njit(**_JIT)
def _act(
    ch, st, S, C, sc, ev, live, pool_keys, pool_cnt, cnt, keys, work, keyv, chosen_b, trail,
    conf_table,
):  # fmt: skip
    ignore = ch[L.CH_IGNORE] == 1
    gated = ch[L.CH_GATED] == 1
    n_available = len(ev[4])
    cap_chains = int(st[L.MAX_CHAINS]) if ch[L.CH_WIDEN] != L.W_NONE else int(st[L.N_INIT])
    max_chains = min(cap_chains, n_available)
    if not _open(min(int(st[L.N_INIT]), max_chains), S, C, sc, ev, live, pool_keys, pool_cnt):
        return 0
    rules = (ch[L.CH_RULE1], ch[L.CH_RULE2])
    has_stable = rules[0] == L.S_STABLE or rules[1] == L.S_STABLE
    window = int(st[L.WINDOW]) if ch[L.CH_USES_EMA] else 0
    n_trail = 0
    ema = 0.0
    rise = 0.0
    conf = 0.0
    complete = 0
    previous = L.NONE_CODE
    stable = 0
    best_conf = 0.0
    flat = 0
    warm_up = int(st[L.WARM_UP])
    for step in range(int(st[L.MAX_STEPS])):
        warm = step >= warm_up
        if ch[L.CH_USES_EMA]:
            _, top1, top2 = leader(pool_keys, sc[L.N_POOL], pool_cnt, ignore)
            ema = (1 - st[L.ALPHA]) * ema + st[L.ALPHA] * conf_table[top1, top2]
            trail[n_trail] = ema
            n_trail += 1
            if n_trail > window:  # del trail[0]
                for t in range(n_trail - 1):
                    trail[t] = trail[t + 1]
                n_trail -= 1
        # pruning
        n = sc[L.N_LIVE]
        if ch[L.CH_PRUNE] == L.PR_OFF_MAJORITY:
            if warm and n > 1:
                target = top_current(C, sc, cnt, keys, ignore)[0]
                _count_off(C, live, n, gated, target)
                m = 0
                for t in range(n):
                    if C[L.COFF, live[t]] >= st[L.PATIENCE] and m < n - 1:
                        work[m] = live[t]
                        m += 1
                if not _prune_list(S, C, sc, work, m):
                    return 1
                _keep_live(live, sc, C, L.CPRUNED)
        elif ch[L.CH_PRUNE] == L.PR_ABANDON:
            winner = leader(pool_keys, sc[L.N_POOL], pool_cnt, ignore)[0]
            if warm and winner != L.NONE_CODE:
                _count_off(C, live, n, gated, winner)
                m = 0
                for t in range(n):
                    if C[L.COFF, live[t]] >= st[L.PATIENCE]:
                        work[m] = live[t]
                        m += 1
                for t in range(m):
                    keyv[work[t]] = -C[L.COFF, work[t]]
                stable_sort(work, m, keyv)
                if not _prune_list(S, C, sc, work, min(m, max(0, n - int(st[L.FLOOR])))):
                    return 1
                _keep_live(live, sc, C, L.CPRUNED)
        if ch[L.CH_TRIM] == L.T_OVERLONG:
            n = sc[L.N_LIVE]
            shortest = -1
            for i in range(sc[L.N_LATEST]):
                if C[L.CDONE, i] and (shortest < 0 or S[L.SCHARGED, i] < shortest):
                    shortest = S[L.SCHARGED, i]
            if shortest >= 0 and n > int(st[L.FLOOR]):
                limit = st[L.STRETCH] * shortest
                m = 0
                for t in range(n):
                    if S[L.SCHARGED, live[t]] > limit:
                        work[m] = live[t]
                        keyv[live[t]] = -S[L.SCHARGED, live[t]]
                        m += 1
                stable_sort(work, m, keyv)
                if not _prune_list(S, C, sc, work, min(m, n - int(st[L.FLOOR]))):
                    return 1
                _keep_live(live, sc, C, L.CPRUNED)
        # depth: chosen chains (work[:nch]) and their bursts (chosen_b)
        n = sc[L.N_LIVE]
        d = ch[L.CH_DEPTH]
        for t in range(n):
            work[t] = live[t]
            chosen_b[t] = 1
        nch = n
        if d in (L.D_ALIGNED, L.D_LEADER):
            winner = L.NONE_CODE
            if warm:
                if d == L.D_ALIGNED:
                    winner = leader(pool_keys, sc[L.N_POOL], pool_cnt, ignore)[0]
                else:
                    winner = top_current(C, sc, cnt, keys, ignore)[0]
            for t in range(n):
                keyv[live[t]] = -C[L.CDEPTH, live[t]]
            stable_sort(work, n, keyv)
            for t in range(n):
                if winner != L.NONE_CODE and C[L.CLATEST, work[t]] == winner:
                    chosen_b[t] = int(st[L.BURST])
        elif d in (L.D_DEEPEST, L.D_SHALLOWEST):
            sign = -1 if d == L.D_DEEPEST else 1
            for t in range(n):
                keyv[live[t]] = sign * C[L.CDEPTH, live[t]]
            stable_sort(work, n, keyv)
            nch = min(n, int(st[L.FOCUS]))
        elif d == L.D_SUPPORT:
            nk = count_current(C, sc, cnt, keys)
            total = 0
            for t in range(nk):
                total += cnt[keys[t]]
            for t in range(n):
                share = (int(st[L.BURST]) - 1) * cnt[C[L.CLATEST, live[t]]] / total
                chosen_b[t] = 1 + round_half_even(share)
            clear(cnt, keys, nk)
        elif d != L.D_UNIFORM:
            return 1
        for t in range(nch):
            i = work[t]
            burst = chosen_b[t]
            f = advance(S, sc, ev, i, burst)
            if f == REFUSED:
                return 0
            if f == INVALID:
                return 1
            finished = f == 1
            if ch[L.CH_PROBE] == L.P_EVERY:
                a = probe(S, sc, ev, i)
                if a == REFUSED:
                    return 0
                if gated:
                    C[L.CFRESH, i] = 1
                if ch[L.CH_SAME]:
                    C[L.CSAME, i] = C[L.CSAME, i] + 1 if a == C[L.CLATEST, i] else 1
                C[L.CLATEST, i] = a
            elif finished or (step + 1) % int(st[L.PROBE_EVERY]) == 0:
                if gated:
                    C[L.CFRESH, i] = 1
                a = probe(S, sc, ev, i)
                if a == REFUSED:
                    return 0
                C[L.CLATEST, i] = a
            C[L.CDEPTH, i] += burst
            r = ch[L.CH_RETIRE]
            if (
                r in (L.R_SETTLED, L.R_AGREEING)
                and not finished
                and C[L.CSAME, i] >= st[L.SETTLE]
                and C[L.CLATEST, i] != L.ERR_CODE
                and (
                    r == L.R_SETTLED or C[L.CLATEST, i] == top_current(C, sc, cnt, keys, ignore)[0]
                )
            ):
                if prune(S, sc, i) == INVALID:
                    return 1
                finished = True
            if finished:
                _pool_add(pool_keys, pool_cnt, sc, C[L.CLATEST, i])
                C[L.CDONE, i] = 1
        _keep_live(live, sc, C, L.CDONE)
        # confidence and stop rules
        if ch[L.CH_USES_CONF]:
            _, top1, top2 = leader(pool_keys, sc[L.N_POOL], pool_cnt, ignore)
            conf = conf_table[top1, top2]
            complete = 0
            for t in range(sc[L.N_POOL]):
                complete += pool_cnt[pool_keys[t]]
        if ch[L.CH_USES_EMA]:
            ema = (1 - st[L.ALPHA]) * ema + st[L.ALPHA] * conf
            trail[n_trail - 1] = ema
            rise = trail[n_trail - 1] - trail[0]
        if has_stable:
            now = top_current(C, sc, cnt, keys, ignore)[0]
            stable = stable + 1 if now == previous else 0
            previous = now
        if warm:
            hit = ch[L.CH_JOIN] != L.J_ANY
            for rule in rules:
                if rule == L.S_NONE:
                    continue
                if rule == L.S_STABLE:
                    ok = stable >= st[L.STABLE_STEPS]
                elif rule == L.S_CONF:
                    ok = complete >= st[L.MIN_COMPLETE] and conf >= st[L.CONF_THRESHOLD]
                else:
                    ok = (
                        complete >= st[L.MIN_COMPLETE]
                        and ema >= st[L.CONF_THRESHOLD]
                        and rise >= -st[L.SLACK]
                    )
                hit = (hit or ok) if ch[L.CH_JOIN] == L.J_ANY else (hit and ok)
            if hit:
                return 0
        if ch[L.CH_CAP] and sc[L.TOKENS] >= st[L.TOKEN_CAP]:
            return 0
        if sc[L.N_LIVE] == 0:
            return 0
        # widening
        w = ch[L.CH_WIDEN]
        if w != L.W_NONE:
            grow = False
            if w == L.W_TREND:
                grow = rise <= st[L.TREND] and ema < st[L.CONF_THRESHOLD]
            elif w == L.W_PLATEAU:
                if conf > best_conf:
                    best_conf = conf
                    flat = 0
                else:
                    flat += 1
                grow = flat >= st[L.PLATEAU_STEPS] and conf < st[L.CONF_THRESHOLD]
            elif w == L.W_DISAGREE:
                nk = count_current(C, sc, cnt, keys)
                most = 0
                total = 0
                for t in range(nk):
                    most = max(most, cnt[keys[t]])
                    total += cnt[keys[t]]
                clear(cnt, keys, nk)
                grow = most < st[L.AGREE] * total
            elif w == L.W_RAMP:
                grow = (step + 1) % int(st[L.PLATEAU_STEPS]) == 0
            if grow and sc[L.N_OPEN] < max_chains and step >= max(1, warm_up // 2):
                k = min(int(st[L.WIDEN_BURST]), max_chains - sc[L.N_OPEN])
                if not _open(k, S, C, sc, ev, live, pool_keys, pool_cnt):
                    return 0
    return 0


@njit(**_JIT)
def run_batch(
    ch, settings, qidx, q_c0, q_nc, q_nk, probe0, probes, tokens, finals, gold,
    orders, order0, reps, interval, kappa, has_budget, budget, conf_table,
    out_answer, out_correct, out_tokens, out_seq, out_cost, out_trunc, out_err,
    S, C, live, work, keyv, chosen_b, pool_keys, pool_cnt, cnt, keys, ftally, sc, trail,
):  # fmt: skip
    """Every (beta, question, replicate) episode; outputs have shape (betas, questions, reps).
    ``orders[order0[qq] + r * n : ... + n]`` is replicate r's chain order of question qq. The
    work arrays after the outputs come zeroed from the caller (see :func:`.run.workspace`):
    compiled without numba's runtime (``_nrt=False``, no reference counting: several times
    faster), the kernel allocates nothing."""
    for b in range(settings.shape[0]):
        st = settings[b]
        for qq in range(len(qidx)):
            q = qidx[qq]
            n = q_nc[q]
            for r in range(reps):
                start = order0[qq] + r * n
                order = orders[start : start + n]
                ev = (probe0, probes, tokens, finals, order, q_c0[q], interval, kappa,
                      has_budget, budget)  # fmt: skip
                clear(pool_cnt, pool_keys, sc[L.N_POOL])
                sc[:] = 0
                err = _act(ch, st, S, C, sc, ev, live, pool_keys, pool_cnt, cnt, keys, work,
                           keyv, chosen_b, trail, conf_table)  # fmt: skip
                if err:
                    ans = L.NONE_CODE
                else:
                    ans = vote(ch, st, S, C, sc, live, pool_keys, pool_cnt, cnt, keys, ftally)
                seq = 0
                for i in range(sc[L.N_OPEN]):
                    seq = max(seq, S[L.SCHARGED, i])
                out_answer[b, qq, r] = ans
                out_correct[b, qq, r] = err == 0 and ans == gold[q]
                out_tokens[b, qq, r] = sc[L.TOKENS]
                out_seq[b, qq, r] = seq
                out_cost[b, qq, r] = sc[L.TOKENS] + kappa * sc[L.N_PROBES]
                out_trunc[b, qq, r] = sc[L.TRUNCATED] == 1
                out_err[b, qq, r] = err == 1
