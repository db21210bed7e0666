"""Discovery: proposers write controller code, the sandbox runs it, the history keeps
everything, digests of curves and traces feed back, and the selection is judged once on a
held-out split."""

from .cache import BaselineCache, cache_dir
from .check import CheckReport, check_controller
from .config import DEFAULT_BETAS, DiscoverConfig
from .contract import CONTRACT_TEXT, contract_problems
from .demo import DEMO_CHAINS, DEMO_QUESTIONS, demo_splits
from .evolve.interpret import GenomeError, genome_controller, read_genome, register_genome
from .evolve_state import EvolveSearch, load_evolve_search
from .history import CandidateRow, EvalKey, History, describe_error, ranked
from .loop import Discovery, Reporter
from .measure import MeasureSettings
from .results import RunView, load_run
from .run import PROPOSERS, discover, make_proposer
from .summary import render_text
from .verdict import plain_result

__all__ = [
    "CONTRACT_TEXT",
    "DEFAULT_BETAS",
    "DEMO_CHAINS",
    "DEMO_QUESTIONS",
    "PROPOSERS",
    "BaselineCache",
    "CandidateRow",
    "CheckReport",
    "DiscoverConfig",
    "Discovery",
    "EvalKey",
    "EvolveSearch",
    "GenomeError",
    "History",
    "MeasureSettings",
    "Reporter",
    "RunView",
    "cache_dir",
    "check_controller",
    "contract_problems",
    "demo_splits",
    "describe_error",
    "discover",
    "genome_controller",
    "load_evolve_search",
    "load_run",
    "make_proposer",
    "plain_result",
    "ranked",
    "read_genome",
    "register_genome",
    "render_text",
]
