"""The integer layout the kernel reads: option codes per mechanism, the slots of the choice
vector and of the settings row. Shared by :mod:`.encode` (which fills them from a genome) and
:mod:`.kernel` (which switches on them); numba freezes these module constants at compile time.

The option tuples list what the kernel implements. A genome with an option missing here is
refused by :func:`.encode.choice_vector` (so a catalogue change cannot be interpreted silently).
"""

from __future__ import annotations

OPTIONS: dict[str, tuple[str, ...]] = {
    "widen": ("none", "trend", "plateau", "disagree", "ramp"),
    "depth": ("uniform", "aligned", "deepest", "shallowest", "support", "leader"),
    "probe": ("every", "sparse"),
    "prune": ("none", "off_majority", "abandon"),
    "retire": ("none", "settled", "agreeing"),
    "trim": ("none", "overlong"),
    "stop": ("none", "stable", "conf", "ema"),
    "stop2": ("none", "stable", "conf", "ema"),
    "join": ("any", "all"),
    "cap": ("none", "tokens"),
    "vote": ("finished", "weighted", "shorter", "steady"),
    "err": ("count", "ignore"),
}

# option codes (index in the tuples above)
W_NONE, W_TREND, W_PLATEAU, W_DISAGREE, W_RAMP = range(5)
D_UNIFORM, D_ALIGNED, D_DEEPEST, D_SHALLOWEST, D_SUPPORT, D_LEADER = range(6)
P_EVERY, P_SPARSE = range(2)
PR_NONE, PR_OFF_MAJORITY, PR_ABANDON = range(3)
R_NONE, R_SETTLED, R_AGREEING = range(3)
T_NONE, T_OVERLONG = range(2)
S_NONE, S_STABLE, S_CONF, S_EMA = range(4)
J_ANY, J_ALL = range(2)
C_NONE, C_TOKENS = range(2)
V_FINISHED, V_WEIGHTED, V_SHORTER, V_STEADY = range(4)

# slots of the choice vector: the mechanisms, then flags derived as the renderer derives them
(
    CH_WIDEN,
    CH_DEPTH,
    CH_PROBE,
    CH_PRUNE,
    CH_RETIRE,
    CH_TRIM,
    CH_RULE1,  # first stop rule
    CH_RULE2,  # second distinct stop rule, or S_NONE
    CH_JOIN,
    CH_CAP,
    CH_VOTE,
    CH_IGNORE,  # err=ignore
    CH_USES_EMA,
    CH_USES_CONF,
    CH_GATED,  # off-majority counts only chains probed since the last count
    CH_SAME,  # the `same` list exists (retire settled/agreeing, vote steady)
) = range(16)
N_CHOICES = 16

SETTING_NAMES: tuple[str, ...] = (
    "n_init",
    "max_chains",
    "warm_up",
    "max_steps",
    "widen_burst",
    "trend",
    "plateau_steps",
    "agree",
    "alpha",
    "window",
    "conf_threshold",
    "slack",
    "min_complete",
    "stable_steps",
    "burst",
    "focus",
    "probe_every",
    "patience",
    "floor",
    "stretch",
    "settle",
    "token_cap",
    "weight",
    "gamma",
    "lean",
)
(
    N_INIT,
    MAX_CHAINS,
    WARM_UP,
    MAX_STEPS,
    WIDEN_BURST,
    TREND,
    PLATEAU_STEPS,
    AGREE,
    ALPHA,
    WINDOW,
    CONF_THRESHOLD,
    SLACK,
    MIN_COMPLETE,
    STABLE_STEPS,
    BURST,
    FOCUS,
    PROBE_EVERY,
    PATIENCE,
    FLOOR,
    STRETCH,
    SETTLE,
    TOKEN_CAP,
    WEIGHT,
    GAMMA,
    LEAN,
) = range(25)

# rows of the session's per-chain state (opened chains, in opening order)
SJ, SPOS, SCHARGED, SSTATE = range(4)
RUNNING, FINISHED, PRUNED = range(3)
# rows of the controller's per-chain lists (the rendered code's latest, depth, ...)
CLATEST, CDEPTH, COFF, CFRESH, CSAME, CDONE, CPRUNED = range(7)
# scalar slots: session (opened, tokens, probes, truncated), controller list lengths
N_OPEN, TOKENS, N_PROBES, TRUNCATED, N_LATEST, N_LIVE, N_POOL = range(7)

ERR_CODE = 0  # every question interns "ERR" first
NONE_CODE = -1  # the answer None


def sources_stamp(*files: str) -> str:
    """A short content hash of sibling source files of this package."""
    import hashlib
    from pathlib import Path

    h = hashlib.sha256()
    for name in files:
        h.update((Path(__file__).parent / name).read_bytes())
    return h.hexdigest()[:16]


def cache_ok(stamp: str, *files: str) -> bool:
    """Whether numba may cache the calling module's compiled functions: its cached code holds
    the code of the functions it calls and the constants it reads from ``files``, but numba
    only checks the calling module's own source. So each compiled module records ``stamp``,
    the :func:`sources_stamp` of its dependencies; when they have changed since, it compiles
    without the cache (and says so) until the stamp is updated, which renews its cache."""
    import warnings

    actual = sources_stamp(*files)
    if actual == stamp:
        return _can_cache()

    warnings.warn(
        f"autotts fast path: {', '.join(files)} changed; set the stamp in the module that "
        f"imports them to {actual!r} (compiling without numba's cache until then)",
        stacklevel=2,
    )
    return False


def _cache_probe() -> None:
    """A function of this package's directory, to ask numba where it would cache."""


def _can_cache() -> bool:
    """Whether numba finds a writable cache location for this package: its ``__pycache__``,
    else ``NUMBA_CACHE_DIR`` or the user's cache directory. With none (a read-only install
    and no writable home), compile in every process instead of failing at import."""
    from numba import njit

    try:
        njit(cache=True)(_cache_probe)  # decoration looks the location up; nothing compiles
    except RuntimeError:
        return False
    return True
