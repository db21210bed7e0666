"""The code of a genome's ``solve`` method, mechanism by mechanism (used by :mod:`.render`).

Each mechanism option contributes a few lines; options not chosen contribute nothing, so the
rendered controller holds only the logic it runs.
"""

from __future__ import annotations

from collections.abc import Callable

from .genome import Genome, needs_every_probe, stop_rules


def _count_off(b: Callable[[str], None], gated: bool, target: str) -> None:
    """Update the off-majority counters; ``gated``: only chains probed since the last count
    (with focused depth or sparse probes, a chain left waiting must not count as off)."""
    b("    for i in live:")
    if gated:
        b("        if fresh[i]:")
        b(f"            off[i] = off[i] + 1 if latest[i] != {target} else 0")
        b("            fresh[i] = False")
    else:
        b(f"        off[i] = off[i] + 1 if latest[i] != {target} else 0")


def solve_code(g: Genome, uses_ema: bool, uses_conf_now: bool, join: str) -> str:
    """The body of ``solve``: shared state and helpers, then the step loop with only the
    chosen mechanisms' code. ``uses_ema``: a stop or widen rule reads CMC's confidence EMA;
    ``uses_conf_now``: one reads the finished answers' Beta confidence; ``join``: how two stop
    rules combine (`` or `` / `` and ``)."""
    c = g.choices
    rules = stop_rules(c)
    gated = c["prune"] != "none" and (
        c["depth"] in ("deepest", "shallowest") or c["probe"] == "sparse"
    )
    ignore = c["err"] == "ignore"
    widen = c["widen"] != "none"
    out: list[str] = []
    add = out.append
    add("s = self.settings")
    add(
        'max_chains = min(s["max_chains"], session.n_available)'
        if widen
        else 'max_chains = min(s["n_init"], session.n_available)'
    )
    add("latest = []  # latest answer seen on each chain")
    add("depth = []  # intervals advanced after opening")
    add("off = []  # consecutive steps off the majority")
    if gated:
        add("fresh = []  # probed since the off-majority count last looked")
    holds = needs_every_probe(c)  # counts how long each chain's answer has held
    if holds:
        add("same = []  # consecutive probes showing the same answer")
    add("done = []  # finished")
    add("pruned = []")
    add("live = []  # running chains, in opening order")
    add("pool: dict[str, int] = {}  # finished answers -> count, in order of finishing")
    add("")
    add("def open_chains(k):")
    add("    for _ in range(k):")
    add("        i = session.branch()")
    add("        latest.append(session.probe(i))")
    add("        depth.append(0)")
    add("        off.append(0)")
    if gated:
        add("        fresh.append(True)")
    if holds:
        add("        same.append(1)")
    add("        pruned.append(False)")
    add("        done.append(session.is_finished(i))")
    add("        if done[i]:")
    add("            pool[latest[i]] = pool.get(latest[i], 0) + 1")
    add("        else:")
    add("            live.append(i)")
    add("")
    add("def counts(answers):")
    add("    tally: dict[str, int] = {}")
    add("    for a in answers:")
    add("        tally[a] = tally.get(a, 0) + 1")
    add("    return tally")
    add("")
    add("def top(tally):  # (winner, top1, top2), ERR set aside if asked")
    if ignore:
        add('    clean = {a: n for a, n in tally.items() if a != "ERR"}')
        add("    return leader(clean or tally)")
    else:
        add("    return leader(tally)")
    add("")
    add("def current():  # the latest answers of chains not pruned")
    add("    return counts(latest[i] for i in range(len(latest)) if not pruned[i])")
    add("")
    add("def answer():")
    if c["vote"] == "weighted":
        add("    tally = {a: float(n) for a, n in pool.items()}")
        add("    for i in live:")
        add('        w = s["weight"] * depth[i] / (depth[i] + 8)')
        add("        tally[latest[i]] = tally.get(latest[i], 0.0) + w")
        if ignore:
            add('    clean = {a: n for a, n in tally.items() if a != "ERR"}')
            add("    tally = clean or tally")
        add("    if tally:")
        add("        return max(tally, key=tally.get)  # first seen among equals")
    elif c["vote"] == "shorter":
        add("    ended = [i for i in range(len(latest)) if done[i]]")
        add("    if ended:")
        add("        shortest = min(session.chain_tokens(i) for i in ended)")
        add("        tally: dict[str, float] = {}")
        add("        for i in ended:")
        add('            w = (shortest / max(1, session.chain_tokens(i))) ** s["gamma"]')
        add("            tally[latest[i]] = tally.get(latest[i], 0.0) + w")
        if ignore:
            add('        clean = {a: n for a, n in tally.items() if a != "ERR"}')
            add("        tally = clean or tally")
        add("        return max(tally, key=tally.get)  # first seen among equals")
    elif c["vote"] == "steady":
        add("    ended = [i for i in range(len(latest)) if done[i]]")
        add("    if ended:")
        add("        tally: dict[str, float] = {}")
        add("        for i in ended:")
        add('            w = 1 + s["lean"] * min(same[i], 8) / 8')
        add("            tally[latest[i]] = tally.get(latest[i], 0.0) + w")
        if ignore:
            add('        clean = {a: n for a, n in tally.items() if a != "ERR"}')
            add("        tally = clean or tally")
        add("        return max(tally, key=tally.get)  # first seen among equals")
    else:
        add("    if pool:")
        add("        return top(pool)[0]")
    add("    return top(current())[0]")
    add("")
    add('open_chains(min(s["n_init"], max_chains))')
    if uses_ema:
        add("ema, trail = 0.0, []  # EMA of the confidence and its recent values")
    if "stable" in rules:
        add("previous, stable = None, 0")
    if c["widen"] == "plateau":
        add("best_conf, flat = 0.0, 0")
    add('for step in range(s["max_steps"]):')
    body: list[str] = []
    b = body.append
    b('warm = step >= s["warm_up"]')
    if uses_ema:  # CMC's momentum: updated before and again after the step's depth
        b("_, top1, top2 = top(pool)")
        b('ema = (1 - s["alpha"]) * ema + s["alpha"] * beta_confidence(top1, top2)')
        b("trail.append(ema)")
        b('if len(trail) > s["window"]:')
        b("    del trail[0]")
    # pruning
    if c["prune"] == "off_majority":
        b("if warm and len(live) > 1:")
        b("    target = top(current())[0]")
        _count_off(b, gated, "target")
        b('    stale = [i for i in live if off[i] >= s["patience"]][: len(live) - 1]')
        b("    for i in stale:")
        b("        session.prune(i)")
        b("        pruned[i] = True")
        b("    live = [i for i in live if not pruned[i]]")
    elif c["prune"] == "abandon":
        b("winner = top(pool)[0]")
        b("if warm and winner is not None:")
        _count_off(b, gated, "winner")
        b('    stale = [i for i in live if off[i] >= s["patience"]]')
        b("    stale.sort(key=lambda i: -off[i])")
        b('    for i in stale[: max(0, len(live) - s["floor"])]:')
        b("        session.prune(i)")
        b("        pruned[i] = True")
        b("    live = [i for i in live if not pruned[i]]")
    if c["trim"] == "overlong":
        b("ended = [session.chain_tokens(i) for i in range(len(latest)) if done[i]]")
        b('if ended and len(live) > s["floor"]:')
        b('    limit = s["stretch"] * min(ended)')
        b("    long = [i for i in live if session.chain_tokens(i) > limit]")
        b("    long.sort(key=lambda i: -session.chain_tokens(i))")
        b('    for i in long[: len(live) - s["floor"]]:')
        b("        session.prune(i)")
        b("        pruned[i] = True")
        b("    live = [i for i in live if not pruned[i]]")
    # depth
    d = c["depth"]
    if d == "uniform":
        b("chosen = [(i, 1) for i in live]")
    elif d == "aligned":
        b("winner = top(pool)[0] if warm else None")
        b("chosen = [")
        b('    (i, s["burst"] if winner is not None and latest[i] == winner else 1)')
        b("    for i in sorted(live, key=lambda i: -depth[i])")
        b("]")
    elif d == "leader":
        b("winner = top(current())[0] if warm else None")
        b("chosen = [")
        b('    (i, s["burst"] if winner is not None and latest[i] == winner else 1)')
        b("    for i in sorted(live, key=lambda i: -depth[i])")
        b("]")
    elif d == "deepest":
        b('chosen = [(i, 1) for i in sorted(live, key=lambda i: -depth[i])[: s["focus"]]]')
    elif d == "shallowest":
        b('chosen = [(i, 1) for i in sorted(live, key=lambda i: depth[i])[: s["focus"]]]')
    else:  # support
        b("tally = current()")
        b("n = sum(tally.values())")
        b('chosen = [(i, 1 + round((s["burst"] - 1) * tally[latest[i]] / n)) for i in live]')
    b("for i, burst in chosen:")
    if c["probe"] == "every":
        b("    a, finished = session.step(i, burst)")
        if gated:
            b("    fresh[i] = True")
        if holds:
            b("    same[i] = same[i] + 1 if a == latest[i] else 1")
        b("    latest[i] = a")
    else:
        b("    finished = session.advance(i, burst)")
        b('    if finished or (step + 1) % s["probe_every"] == 0:')
        if gated:
            b("        fresh[i] = True")
        b("        latest[i] = session.probe(i)")  # (``holds`` implies probe=every)
    b("    depth[i] += burst")
    if c["retire"] == "settled":
        b('    if not finished and same[i] >= s["settle"] and latest[i] != "ERR":')
        b("        session.prune(i)  # retired: its answer counts as finished")
        b("        finished = True")
    elif c["retire"] == "agreeing":
        b("    if (")
        b("        not finished")
        b('        and same[i] >= s["settle"]')
        b('        and latest[i] != "ERR"')
        b("        and latest[i] == top(current())[0]")
        b("    ):")
        b("        session.prune(i)  # retired: its answer counts as finished")
        b("        finished = True")
    b("    if finished:")
    b("        pool[latest[i]] = pool.get(latest[i], 0) + 1")
    b("        done[i] = True")
    b("live = [i for i in live if not done[i]]")
    # confidence and stop rules
    if uses_conf_now:
        b("_, top1, top2 = top(pool)")
        b("conf = beta_confidence(top1, top2)")
        b("complete = sum(pool.values())")
    if uses_ema:
        b('ema = (1 - s["alpha"]) * ema + s["alpha"] * conf')
        b("trail[-1] = ema")
        b("rise = trail[-1] - trail[0]")
    if "stable" in rules:
        b("now = top(current())[0]")
        b("stable = stable + 1 if now == previous else 0")
        b("previous = now")
    tests = []
    for r in rules:
        if r == "stable":
            tests.append('stable >= s["stable_steps"]')
        elif r == "conf":
            tests.append('(complete >= s["min_complete"] and conf >= s["conf_threshold"])')
        else:
            tests.append(
                '(complete >= s["min_complete"] and ema >= s["conf_threshold"] '
                'and rise >= -s["slack"])'
            )
    gate = tests[0].removeprefix("(").removesuffix(")") if len(tests) == 1 else join.join(tests)
    b(f"if warm and ({gate}):")
    b("    return answer()")
    if c["cap"] == "tokens":
        b('if session.tokens >= s["token_cap"]:')
        b("    return answer()")
    b("if not live:")
    b("    break")
    # widening
    if widen:
        w = c["widen"]
        if w == "trend":
            b('grow = rise <= s["trend"] and ema < s["conf_threshold"]')
        elif w == "ramp":
            b('grow = (step + 1) % s["plateau_steps"] == 0')
        elif w == "plateau":
            b("if conf > best_conf:")
            b("    best_conf, flat = conf, 0")
            b("else:")
            b("    flat += 1")
            b('grow = flat >= s["plateau_steps"] and conf < s["conf_threshold"]')
        else:
            b("tally = current()")
            b('grow = max(tally.values()) < s["agree"] * sum(tally.values())')
        b('if grow and session.n_open < max_chains and step >= max(1, s["warm_up"] // 2):')
        b('    open_chains(min(s["widen_burst"], max_chains - session.n_open))')
    out.extend("    " + line if line else "" for line in body)
    out.append("return answer()")
    return "\n".join(out)
