"""Downloading the released replay environments into the user cache, verified.

:func:`pull_released` fetches the files of :data:`autotts.data.released.RELEASED` into
``cache_dir()/replay/<model>/<dataset>.json``, where every ``--env`` short name finds them
(:mod:`autotts.data.locate`). Nothing unverified is ever put in place: a download streams into
a temporary file in the destination directory, hashed as it arrives; only when its size and
sha256 are the table's is it fsynced and moved over the destination with ``os.replace``
(atomic). Anything else (a wrong byte, a short read, Ctrl-C) removes the temporary file and
leaves what was in place untouched.

A file's sources are tried in order; transient failures (no connection, a timeout, a short
read, HTTP 5xx/408/429) are retried with backoff first. A host that did not answer at all is
not asked again in the same call, so a pull without a network fails fast. The result of each
file is a :class:`PullResult` (failures included): one bad file does not stop the others.
Problems on this machine (the cache directory cannot be written) are raised as ``OSError``.

Only the standard library is used (urllib, imported when a download starts: every command
imports this package, and start-up time counts): the downloads are a few files of ~2.5 MB.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import time
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from .locate import cache_dir
from .released import RAW_BASE, RELEASED, ReleasedFile

MIRROR_VAR = "AUTOTTS_PULL_MIRROR"
TIMEOUT_S = 30.0  # per connection attempt and per read
RETRIES = 2  # further attempts of a URL after a transient failure
BACKOFF_S = 0.5  # the n-th retry waits BACKOFF_S * 2 ** (n - 1)
CHUNK = 1 << 16
# not autotts/<version>: importing the top package from here makes mypy see a redefinition
USER_AGENT = "autotts-env-pull"

Progress = Callable[[str, int, int], None]  # (name, bytes received of this attempt, size)


class PullError(ValueError):
    """A request that cannot be carried out as given (a name matching nothing, a bad mirror)."""


@dataclass(frozen=True)
class PullResult:
    """What became of one file.

    ``status``: ``downloaded``, ``up-to-date`` (already in place, verified, not fetched),
    ``failed`` (``error`` says why; what was in place is untouched) or ``would-download`` (a dry
    run). ``bytes`` and ``sha256`` are the released file's (what the file at ``path`` was checked
    to be, unless it failed); ``source`` is the URL it came from (the last one tried when it
    failed, None when nothing was fetched); ``previous`` the cache's state before: ``verified``,
    ``missing`` or ``mismatch`` (a file that is not the released one, replaced when downloaded).
    """

    name: str
    path: Path
    status: str
    bytes: int
    sha256: str
    source: str | None
    previous: str
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "path": str(self.path),
            "status": self.status,
            "bytes": self.bytes,
            "sha256": self.sha256,
            "source": self.source,
            "previous": self.previous,
            "error": self.error,
        }


def select_released(
    names: Sequence[str], table: Sequence[ReleasedFile] = RELEASED
) -> list[ReleasedFile]:
    """The table's entries named by ``names`` (short names or globs over them, ``.json``
    optional), in table order; all of them when ``names`` is empty. A name matching nothing is
    a :class:`PullError` listing what exists."""
    if not names:
        return list(table)
    chosen: set[str] = set()
    for raw in names:
        name = raw.removesuffix(".json")
        hits = [e.name for e in table if fnmatch.fnmatchcase(e.name, name)]
        if not hits:
            known = ", ".join(e.name for e in table)
            raise PullError(f"{raw!r} matches no released environment; there are: {known}")
        chosen.update(hits)
    return [e for e in table if e.name in chosen]


def release_root() -> Path:
    """Where pulled files go: the user cache's ``replay`` folder, the second place short names
    are looked up in."""
    return cache_dir() / "replay"


def release_path(entry: ReleasedFile, root: Path | None = None) -> Path:
    return (root or release_root()) / entry.model / f"{entry.dataset}.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def cached_state(entry: ReleasedFile, root: Path | None = None) -> str:
    """``verified`` (the released bytes are in place), ``missing`` or ``mismatch``."""
    path = release_path(entry, root)
    if not path.is_file():
        return "missing" if not os.path.lexists(path) else "mismatch"
    if path.stat().st_size != entry.size:
        return "mismatch"
    return "verified" if file_sha256(path) == entry.sha256 else "mismatch"


def mirror_base(given: str | None = None) -> str:
    """The base replacing ``https://raw.githubusercontent.com/``: ``given``, else
    ``$AUTOTTS_PULL_MIRROR``, else that; an http(s):// or file:// URL, ending with ``/``."""
    base = given or os.environ.get(MIRROR_VAR) or RAW_BASE
    parts = urllib.parse.urlsplit(base)
    remote = parts.scheme in ("http", "https")
    if not (remote and parts.netloc) and parts.scheme != "file":
        raise PullError(
            f"mirror {base!r}: expected an http://, https:// or file:// URL, e.g. "
            "http://127.0.0.1:8000/ serving owner/repo/commit/path"
        )
    return base if base.endswith("/") else base + "/"


class _Failure(Exception):
    """One URL failed for ``reason``; ``transient`` failures are worth another try,
    ``host_down`` ones mean the host did not answer at all."""

    def __init__(
        self, url: str, reason: str, transient: bool = False, host_down: bool = False
    ) -> None:
        super().__init__(f"{url}: {reason}")
        self.reason, self.transient, self.host_down = reason, transient, host_down


def _network_failure(url: str, err: BaseException) -> _Failure:
    """Why ``url`` could not be read, in a few words, classified."""
    import socket
    import ssl
    import urllib.error

    if isinstance(err, urllib.error.HTTPError):
        transient = err.code >= 500 or err.code in (408, 429)
        return _Failure(url, f"HTTP {err.code} {err.reason}", transient=transient)
    reason: object = err.reason if isinstance(err, urllib.error.URLError) else err
    if isinstance(reason, socket.gaierror):
        again = reason.errno == socket.EAI_AGAIN
        return _Failure(url, f"cannot resolve the host ({reason.strerror})", again, True)
    if isinstance(reason, TimeoutError):  # socket.timeout is TimeoutError
        return _Failure(url, "timed out", transient=True, host_down=True)
    if isinstance(reason, ConnectionRefusedError):
        return _Failure(url, "connection refused", transient=True, host_down=True)
    if isinstance(reason, ssl.SSLError):  # a certificate problem does not go away by retrying
        return _Failure(url, f"TLS error ({reason.reason or reason})", host_down=True)
    if isinstance(reason, FileNotFoundError):  # a file:// mirror without the file
        return _Failure(url, "no such file")
    if isinstance(reason, ConnectionError):
        return _Failure(url, "the connection broke off", transient=True)
    if isinstance(reason, OSError) and reason.strerror:
        return _Failure(url, reason.strerror, transient=True, host_down=True)
    return _Failure(url, str(reason) or type(reason).__name__, transient=True)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # not possible on every platform; the file itself is synced
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _receive(
    url: str, out: Any, entry: ReleasedFile, timeout: float, progress: Progress | None
) -> tuple[int, str]:
    """Stream ``url`` into the open file ``out``; return (bytes received, their sha256). Reads
    at most one byte more than the released size. Network problems are :class:`_Failure`s; a
    write error on this machine propagates as ``OSError``."""
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    digest, received = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            while received <= entry.size:
                chunk = response.read(min(CHUNK, entry.size + 1 - received))
                if not chunk:
                    break
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if progress is not None:
                    progress(entry.name, min(received, entry.size), entry.size)
    except http.client.IncompleteRead as e:
        got = received + len(e.partial)
        raise _Failure(url, f"truncated: got {got} of {entry.size} bytes", True) from None
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as e:
        raise _network_failure(url, e) from None
    return received, digest.hexdigest()


def _download(
    url: str, entry: ReleasedFile, dest: Path, timeout: float, progress: Progress | None
) -> None:
    """One attempt: ``url`` verified into ``dest``, or a :class:`_Failure` and ``dest``
    untouched (the temporary file is removed whatever happens, Ctrl-C included)."""
    import tempfile

    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            received, sha256 = _receive(url, out, entry, timeout, progress)
            if received < entry.size:
                raise _Failure(url, f"truncated: got {received} of {entry.size} bytes", True)
            if received > entry.size:
                raise _Failure(url, f"more than the released {entry.size} bytes (not the file)")
            if sha256 != entry.sha256:
                raise _Failure(
                    url, f"sha256 mismatch: expected {entry.sha256[:12]}, got {sha256[:12]}"
                )
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)  # mkstemp's 0600 is for the partial file; the data are public
        os.replace(tmp, dest)
        tmp = ""
        _fsync_dir(dest.parent)
    finally:
        if tmp:
            os.unlink(tmp)


@dataclass(frozen=True)
class _Options:
    timeout: float
    retries: int
    progress: Progress | None


def _fetch(
    entry: ReleasedFile,
    dest: Path,
    urls: list[str],
    down: dict[str, str],
    options: _Options,
) -> tuple[str, str | None]:
    """Try ``urls`` in order (each transient failure retried); return (the URL that worked or
    the last one tried, None or the error line naming every URL and why it failed). ``down``
    maps hosts that did not answer to why, shared across files."""
    errors: list[str] = []
    tried = urls[-1]
    for url in urls:
        host = urllib.parse.urlsplit(url).netloc
        if host in down:
            errors.append(f"{url}: not tried ({down[host]})")
            continue
        tried = url
        for attempt in range(options.retries + 1):
            if attempt:
                time.sleep(BACKOFF_S * 2 ** (attempt - 1))
            try:
                _download(url, entry, dest, options.timeout, options.progress)
                return url, None
            except _Failure as failure:
                if failure.transient and attempt < options.retries:
                    continue
                errors.append(str(failure) + (f" ({attempt + 1} tries)" if attempt else ""))
                if failure.host_down and host:
                    down[host] = f"{host} did not answer earlier ({failure.reason})"
                break
    return tried, f"{entry.name}: " + "; ".join(errors) + " (nothing stored)"


def pull_released(
    entries: Iterable[ReleasedFile],
    *,
    root: Path | None = None,
    mirror: str | None = None,
    force: bool = False,
    dry_run: bool = False,
    timeout: float = TIMEOUT_S,
    retries: int = RETRIES,
    progress: Progress | None = None,
) -> Iterator[PullResult]:
    """Download ``entries`` (see :func:`select_released`) into ``root`` (default
    :func:`release_root`), yielding each file's :class:`PullResult` as it is done.

    A file already in place with the released sha256 is ``up-to-date`` and not fetched unless
    ``force``; one with other bytes is replaced by a verified download. ``mirror`` replaces
    ``https://raw.githubusercontent.com/`` in every URL (default ``$AUTOTTS_PULL_MIRROR``).
    ``progress(name, received, size)`` is called as bytes arrive. ``dry_run`` fetches nothing
    and yields ``would-download`` for what would be. Stopping the iteration (or Ctrl-C) keeps
    every file already completed and leaves no partial file.
    """
    base = mirror_base(mirror)
    root = root or release_root()
    options = _Options(timeout, retries, progress)
    down: dict[str, str] = {}
    for entry in entries:
        dest = release_path(entry, root)
        previous = cached_state(entry, root)

        base_result = PullResult(entry.name, dest, "", entry.size, entry.sha256, None, previous)
        if previous == "verified" and not force:
            yield replace(base_result, status="up-to-date")
        elif dry_run:
            yield replace(base_result, status="would-download", source=entry.urls(base)[0])
        else:
            source, error = _fetch(entry, dest, entry.urls(base), down, options)
            if error and previous == "mismatch":
                error += f"; {dest} is still not the released file"
            status = "failed" if error else "downloaded"
            yield replace(base_result, status=status, source=source, error=error)
