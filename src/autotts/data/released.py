"""The replay environments the AutoTTS and Parallel-Probe papers released, as data.

Each entry names one file, ``<model>/<dataset>``, with the sha256 and size of its raw bytes and
the places it can be downloaded from, in the order :func:`autotts.data.pull_released` tries
them. A source is a path below :data:`RAW_BASE` (``raw.githubusercontent.com``), pinned to a
commit, so the bytes behind it cannot change; a mirror (``--mirror``) replaces only the base.
The hashes were checked against the repositories at these commits; the eight aime files are
byte for byte the ones in the project's replay data directory.
"""

from __future__ import annotations

from dataclasses import dataclass

RAW_BASE = "https://raw.githubusercontent.com/"

AUTOTTS_REPO = "zhengkid/AutoTTS"
AUTOTTS_COMMIT = "3cd98d12c7cb999afc5c21381f22ea5811ac6c05"
AUTOTTS_DIR = "efficient_reasoning_controller/test_environment"

PARALLEL_PROBE_REPO = "zhengkid/Parallel-Probe"
PARALLEL_PROBE_COMMIT = "aaa4c7239f98a79a3652cba405ca7957ed72ec4c"
PARALLEL_PROBE_DIR = "evaluation/Qwen3-8B-128"  # Qwen3-8B only, the same bytes as AutoTTS's


@dataclass(frozen=True)
class ReleasedFile:
    """One released environment file: what its bytes must be and where to get them.

    ``sources`` are paths below the raw-file base (``owner/repo/commit/path``), tried in order.
    """

    model: str
    dataset: str
    sha256: str
    size: int
    sources: tuple[str, ...]

    @property
    def name(self) -> str:
        """The short name ``--env`` takes: ``Qwen3-4B/aime25``."""
        return f"{self.model}/{self.dataset}"

    def urls(self, base: str = RAW_BASE) -> list[str]:
        """The download URLs under ``base`` (which ends with ``/``), in the order to try."""
        return [base + source for source in self.sources]


def _autotts(model: str, dataset: str) -> str:
    return f"{AUTOTTS_REPO}/{AUTOTTS_COMMIT}/{AUTOTTS_DIR}/{model}/{dataset}.json"


def _parallel_probe(dataset: str) -> str:
    return f"{PARALLEL_PROBE_REPO}/{PARALLEL_PROBE_COMMIT}/{PARALLEL_PROBE_DIR}/{dataset}.json"


# sha256 of the raw bytes, size in bytes, model/dataset
_TABLE = """
6b4297405b494c84afb05b337af315c617513eb2580ed327ca7040b760988a7d 2396753 Qwen3-0.6B/aime24
33f65695ecc78fb777f53bead2128ba1249772b3608c6a22bd4e674488d453e0 2334526 Qwen3-0.6B/aime25
7e7c574aaedcd05b36b801c11e3bdd7e2cfd3b7309a2376967cc1e8bc01ebebc 2654077 Qwen3-0.6B/hmmt25
5d6c9a63e26c7cf60181c53b67adc7017db146bf2ff1e3b9784673cb97313ad1 2380710 Qwen3-1.7B/aime24
77bfb8e8589d0c0da3ccb6d5852c37bf23273e047664a5086d492896a5ae2496 2568922 Qwen3-1.7B/aime25
87d158ecdc3551e375891d19917ce02f8fdcadd778afe99ad2ae179f872fb298 2741320 Qwen3-1.7B/hmmt25
d99ce8711c60605b7555a7fc6e66cc5ae0abe7ce6b36bf4e712802d26aa7ffdd 2066911 Qwen3-4B/aime24
977f56022b0cd225bd0233aff1f7b39740c45ec79693475ada8c766ee4097a3f 2673679 Qwen3-4B/aime25
4bc0b51765a0fc5a3d9a462b1ff317b70577d478c5cb5e06f20fe9d5b73b4b1c 2973086 Qwen3-4B/hmmt25
be725bdacc64712088d5c947b9b869471ad659c8465c3e5b6e9ff5191bfd0128 2103633 Qwen3-8B/aime24
969bba7bb0276f66d421d069e078e20a9b3ff4a59977393a2733a97ca6e4566c 2675898 Qwen3-8B/aime25
561efa74e3dd4ca79b67463c7c5d449762824b4534bdc7267b19d9af29d2a9a9 3219245 Qwen3-8B/hmmt25
"""


def _entries() -> tuple[ReleasedFile, ...]:
    out = []
    for line in _TABLE.split("\n"):
        if not line.strip():
            continue
        sha256, size, name = line.split()
        model, dataset = name.split("/")
        sources = [_autotts(model, dataset)]
        if model == "Qwen3-8B":
            sources.append(_parallel_probe(dataset))
        out.append(ReleasedFile(model, dataset, sha256, int(size), tuple(sources)))
    return tuple(out)


RELEASED: tuple[ReleasedFile, ...] = _entries()
"""Every released file, sorted by name: 4 models x {aime24, aime25, hmmt25}."""
