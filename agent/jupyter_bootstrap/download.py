"""Verified, resumable HTTP downloads (the ~1 GB conda installer) and small text fetches.

Everything fails closed: a download is only ever accepted when its sha256 matches a hash the
caller already knows, and the file appears at its final path only after that check. How
progress is shown is not decided here: the caller passes a `ProgressSink` (progress.py has
the terminal bar and the plain lines).
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, NamedTuple, Optional, Protocol

import requests
import urllib3

from jupyter_bootstrap import __version__
from jupyter_bootstrap.conda_installers import normalise_sha256
from jupyter_bootstrap.errors import StepFailed, UserError
from jupyter_bootstrap.files import fsync_directory, nearest_existing
from jupyter_bootstrap.overlapped_hash import OverlappedSha256
from jupyter_bootstrap.progress import format_bytes

log = logging.getLogger(__name__)

USER_AGENT = f"jupyter-bootstrap/{__version__}"
CHUNK_SIZE = 1024 * 1024
# An attempt that stored at least this much before failing earns the retry budget back: a
# long download over a flaky link should not die after a few drops if each one made progress.
PROGRESS_RESETS_RETRIES = CHUNK_SIZE
MAX_BACKOFF = 60.0
# fetch_text() is for index pages; refuse to pull something installer-sized into memory.
TEXT_LIMIT = 16 * 1024 * 1024

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
_UNSATISFIED_RANGE = re.compile(r"bytes\s+\*/(\d+)", re.IGNORECASE)
# Request Timeout and Too Many Requests are worth another try; other 4xx are final.
_RETRYABLE_4XX = frozenset({408, 429})

_NETWORK_HINT = (
    "check the address and that this machine can reach it (proxy, firewall, DNS), then run again"
)


class DownloadResult(NamedTuple):
    path: Path
    sha256: str
    size: int
    bytes_transferred: int  # body bytes received in this call, including any discarded ones
    reused: bool  # dest was already present and verified: nothing was fetched


class ProgressSink(Protocol):
    """Where download progress goes.

    `start` may be called again during one download when the transfer restarts from zero
    (a server ignoring Range); implementations reset their counters then. `finish` is always
    called once after a `start`, on success and on failure.
    """

    def start(self, total: Optional[int], already: int) -> None: ...

    def advance(self, n: int) -> None: ...

    def finish(self) -> None: ...


class SpaceNeed(NamedTuple):
    """Room that something about to happen will take, for `ensure_free_space`."""

    directory: Path  # need not exist yet: the filesystem it will be created on is measured
    size: int
    what: str  # for the message: "downloading X", "installing into Y"


def ensure_free_space(*needs: SpaceNeed) -> None:
    """Refuse early (exit 2) rather than fill the disk half-way through a 1 GB download or
    a 4 GB install. Needs whose directories share a filesystem are added up, since the
    free space of one filesystem can only be spent once."""
    on_device: dict[int, tuple[Path, int, list[str]]] = {}
    for need in needs:
        probe = nearest_existing(Path(need.directory).absolute())
        device = probe.stat().st_dev
        first, size, whats = on_device.get(device, (probe, 0, []))
        on_device[device] = (first, size + need.size, [*whats, need.what])
    for probe, size, whats in on_device.values():
        free = shutil.disk_usage(probe).free
        if free < size:
            raise UserError(
                f"not enough disk space for {' and '.join(whats)}: needs {format_bytes(size)}, "
                f"{format_bytes(free)} free on the filesystem of {probe}",
                hint="free some space or enlarge the disk (EC2: modify the EBS volume, then run "
                "growpart and resize2fs), then run again",
            )


def _headers(extra: Optional[dict[str, str]] = None) -> dict[str, str]:
    # identity: byte offsets in Range and the published sha256 both refer to the file as
    # stored; a compressed representation would make resumed bytes meaningless.
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if extra:
        headers.update(extra)
    return headers


def _tls_failure(url: str, error: Exception) -> StepFailed:
    return StepFailed(
        f"TLS certificate check failed for {url}: {error}",
        hint="a proxy that intercepts HTTPS needs its CA in REQUESTS_CA_BUNDLE; "
        "the download is never retried without verification",
    )


def _http_failure(url: str, resp: requests.Response) -> StepFailed:
    what = f"HTTP {resp.status_code} {resp.reason or ''}".rstrip()
    hint = _NETWORK_HINT
    if resp.status_code in (404, 410):
        hint = "the file is not (or no longer) at that address; check the URL or version"
    return StepFailed(f"{url} answered {what}", hint=hint)


def _expected_hash(sha256: object) -> str:
    try:
        return normalise_sha256(sha256)
    except ValueError as error:
        # Never fall back to "download and accept": an empty hash passing a check is exactly
        # how unverified installers end up being run.
        raise StepFailed(
            f"refusing to download without a valid sha256: {error}",
            hint="the expected checksum must be 64 hex digits; pass it or let the agent "
            "read it from the publisher's index",
        ) from error


def remote_size(
    url: str, *, timeout: float = 15.0, session: Optional[requests.Session] = None
) -> Optional[int]:
    """Content-Length from a HEAD (redirects followed), or None when it cannot be known.

    Never raises for HTTP or network trouble: some hosts refuse HEAD on signed redirect
    targets, and the download itself reports real errors properly.
    """
    sess = session or requests.Session()
    try:
        resp = sess.head(
            url, headers=_headers(), timeout=timeout, allow_redirects=True, verify=True
        )
    except requests.exceptions.RequestException as error:
        log.info("HEAD %s failed: %s", url, error)
        return None
    finally:
        if session is None:
            sess.close()
    if resp.status_code != 200:
        return None
    length = resp.headers.get("Content-Length", "")
    return int(length) if length.isdigit() else None


def fetch_text(
    url: str,
    *,
    timeout: float = 30.0,
    session: Optional[requests.Session] = None,
    retries: int = 2,
    backoff: float = 1.0,
) -> str:
    """GET a small text resource (a hash index page). Retries network errors and 5xx."""
    sess = session or requests.Session()
    try:
        failures = 0
        while True:
            try:
                return _fetch_text_once(url, sess, timeout)
            except _Retryable as error:
                failures += 1
                if failures > retries:
                    raise StepFailed(
                        f"could not fetch {url}: {error}", hint=_NETWORK_HINT
                    ) from error
                log.info("fetch %s: %s; retrying", url, error)
                time.sleep(min(backoff * 2 ** (failures - 1), MAX_BACKOFF))
    finally:
        if session is None:
            sess.close()


def _fetch_text_once(url: str, sess: requests.Session, timeout: float) -> str:
    try:
        with sess.get(url, headers=_headers(), timeout=timeout, stream=True, verify=True) as resp:
            if resp.status_code >= 500 or resp.status_code in _RETRYABLE_4XX:
                raise _Retryable(f"HTTP {resp.status_code}")
            if resp.status_code != 200:
                raise _http_failure(url, resp)
            body = bytearray()
            for chunk in resp.iter_content(64 * 1024):
                body += chunk
                if len(body) > TEXT_LIMIT:
                    raise StepFailed(
                        f"{url} is larger than {format_bytes(TEXT_LIMIT)}; "
                        "expected a small text page"
                    )
            # requests guesses ISO-8859-1 for text/* without a charset; index pages are UTF-8.
            declared = "charset=" in resp.headers.get("Content-Type", "").lower()
            encoding = resp.encoding if declared and resp.encoding else "utf-8"
            return body.decode(encoding, errors="replace")
    except requests.exceptions.SSLError as error:
        raise _tls_failure(url, error) from error
    except (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        requests.exceptions.ChunkedEncodingError,
    ) as error:
        raise _Retryable(str(error)) from error
    except requests.exceptions.RequestException as error:
        raise StepFailed(f"could not fetch {url}: {error}", hint=_NETWORK_HINT) from error


class _Retryable(Exception):
    """A failure worth another attempt after a pause (dropped connection, stall, 5xx)."""


class _Restart(_Retryable):
    """The bytes on disk cannot be continued: discard them and start again from byte 0."""


def download_verified(
    url: str,
    dest: Path,
    sha256: str,
    *,
    progress: Optional[ProgressSink] = None,
    retries: int = 3,
    connect_timeout: float = 15,
    read_timeout: float = 60,
    backoff: float = 1.0,
    session: Optional[requests.Session] = None,
) -> DownloadResult:
    """Fetch `url` to `dest`, accepting it only if its sha256 equals `sha256`.

    Resumes from `dest.part` (left by an earlier interrupted call) with a Range request,
    retries dropped/stalled connections and 5xx with exponential backoff, and renames the
    verified file into place atomically. Raises StepFailed on any failure, including a
    `sha256` that is not 64 hex digits (checked before anything is fetched).
    """
    expected = _expected_hash(sha256)
    if retries < 0:
        raise ValueError("retries must be >= 0")
    dest = Path(dest)

    if dest.is_file():
        try:
            size, actual = _hash_file(dest)
        except OSError as error:
            raise StepFailed(f"cannot read {dest}: {error.strerror or error}") from error
        if actual == expected:
            return DownloadResult(dest, actual, size, 0, reused=True)
        log.info("%s exists but its sha256 is %s, not %s: fetching again", dest, actual, expected)

    part = dest.with_name(dest.name + ".part")
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        fh = _open_locked(part)
    except OSError as error:
        raise StepFailed(f"cannot write {part}: {error.strerror or error}") from error

    sess = session or requests.Session()
    try:
        with fh:
            transfer = _Transfer(
                url, part, dest, fh, expected, progress, (connect_timeout, read_timeout), sess
            )
            return transfer.run(retries, backoff)
    finally:
        if session is None:
            sess.close()


def _hash_file(path: Path) -> tuple[int, str]:
    h = OverlappedSha256()  # the next read from disk overlaps hashing the last one
    size = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            h.update(chunk)
            size += len(chunk)
    return size, h.hexdigest()


def _open_locked(part: Path) -> IO[bytes]:
    fd = os.open(part, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    fh = os.fdopen(fd, "r+b")
    try:
        # Two agents appending to one .part would interleave garbage; the lock dies with us.
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        raise StepFailed(
            f"another process is already downloading into {part}",
            hint="wait for the other jupyter-bootstrap run to finish, then run again",
        ) from None
    return fh


def _parse_content_range(value: Optional[str]) -> Optional[tuple[int, Optional[int]]]:
    m = _CONTENT_RANGE.fullmatch((value or "").strip())
    if not m:
        return None
    total = m.group(3)
    return int(m.group(1)), (int(total) if total != "*" else None)


def _validator(resp: requests.Response) -> Optional[str]:
    etag = resp.headers.get("ETag")
    if etag and not etag.startswith("W/"):  # If-Range needs a strong validator
        return etag
    return resp.headers.get("Last-Modified")


class _Transfer:
    """State of one download_verified call: the open .part, its running hash and offset."""

    def __init__(
        self,
        url: str,
        part: Path,
        dest: Path,
        fh: IO[bytes],
        expected: str,
        progress: Optional[ProgressSink],
        timeout: tuple[float, float],
        session: requests.Session,
    ) -> None:
        self.url = url
        self.part = part
        self.dest = dest
        self.fh = fh
        self.expected = expected
        self.progress = progress
        self.timeout = timeout
        self.session = session
        # Hashes on a thread of its own: receiving and writing go on meanwhile.
        self.hasher = OverlappedSha256()
        self.offset = 0  # bytes in the .part, all of them already fed to self.hasher
        self.transferred = 0
        self.total: Optional[int] = None
        self.validator: Optional[str] = None
        self.stale_prefix = False  # .part holds bytes from an earlier call (maybe another file)
        self.progress_started = False
        self.progress_fresh = True  # the next response must (re)start the progress sink

    # The one pass over existing bytes: afterwards the hash only ever sees new chunks.
    def _absorb_existing(self) -> None:
        self.fh.seek(0)
        while chunk := self.fh.read(CHUNK_SIZE):
            self.hasher.update(chunk)
            self.offset += len(chunk)
        self.stale_prefix = self.offset > 0

    def run(self, retries: int, backoff: float) -> DownloadResult:
        try:
            self._absorb_existing()
        except OSError as error:
            raise StepFailed(f"cannot read {self.part}: {error.strerror or error}") from error
        if self.offset and self.hasher.hexdigest() == self.expected:
            log.info("%s is already complete and verified", self.part)
            return self._commit()
        if self.offset:
            log.info("resuming %s at byte %d", self.url, self.offset)

        failures = 0
        restarted = False
        try:
            while True:
                before = self.offset
                try:
                    self._attempt()
                    if self.total is not None and self.offset < self.total:
                        raise _Retryable(
                            f"connection closed after {self.offset} of {self.total} bytes"
                        )
                    actual = self.hasher.hexdigest()
                    if actual == self.expected:
                        return self._commit()
                    if self.stale_prefix and not restarted:
                        # The bytes resumed from an earlier run may belong to an older file at
                        # the same URL; one clean fetch settles it before declaring a mismatch.
                        raise _Restart("sha256 mismatch after resuming an earlier partial file")
                    self._discard()
                    raise StepFailed(
                        f"{self.dest.name} from {self.url} failed its checksum (discarded)\n"
                        f"  expected sha256: {self.expected}\n"
                        f"  actual sha256:   {actual}",
                        hint="the download was corrupted or the file changed on the server; "
                        "run again, and if it fails again the expected checksum is out of date",
                    )
                except _Restart as error:
                    log.info("%s: %s; starting again from byte 0", self.url, error)
                    self._reset()
                    if not restarted:
                        restarted = True  # the first restart is free and immediate
                        continue
                    failures = self._failed(error, failures, retries, backoff, before)
                except _Retryable as error:
                    failures = self._failed(error, failures, retries, backoff, before)
        finally:
            self.hasher.close()
            if self.progress is not None and self.progress_started:
                self.progress.finish()

    def _failed(
        self, error: Exception, failures: int, retries: int, backoff: float, before: int
    ) -> int:
        if self.offset - before >= PROGRESS_RESETS_RETRIES:
            failures = 0
        failures += 1
        if failures > retries:
            kept = (
                f"{format_bytes(self.offset)} already fetched are kept in {self.part}; "
                if self.offset
                else ""
            )
            raise StepFailed(
                f"download of {self.url} failed: {error} (gave up after {failures} attempts "
                "without progress)",
                hint=f"{kept}run the same command again to resume; {_NETWORK_HINT}",
            ) from error
        delay = min(backoff * 2 ** (failures - 1), MAX_BACKOFF)
        log.info(
            "download of %s: %s; retry %d/%d in %.1f s", self.url, error, failures, retries, delay
        )
        time.sleep(delay)
        return failures

    def _attempt(self) -> None:
        extra: dict[str, str] = {}
        if self.offset:
            extra["Range"] = f"bytes={self.offset}-"
            if self.validator:
                # If the file changed since our bytes were fetched the server sends it whole.
                extra["If-Range"] = self.validator
        try:
            # verify=True on the request, not the session: a caller's session with
            # verify=False can never switch checking off (REQUESTS_CA_BUNDLE still applies).
            resp = self.session.get(
                self.url,
                headers=_headers(extra),
                stream=True,
                timeout=self.timeout,
                verify=True,
                allow_redirects=True,
            )
        except requests.exceptions.SSLError as error:
            raise _tls_failure(self.url, error) from error
        except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as error:
            raise _Retryable(_describe(error)) from error
        except requests.exceptions.RequestException as error:
            raise StepFailed(
                f"could not download {self.url}: {error}", hint=_NETWORK_HINT
            ) from error
        with resp:
            if self._accept(resp):
                self._receive(resp)

    def _accept(self, resp: requests.Response) -> bool:
        """Check the status and position the .part to match; False: nothing to read."""
        status = resp.status_code
        if status == 200:
            if self.offset:
                log.info("%s ignored the Range request: fetching it whole", self.url)
                self._reset()
            length = resp.headers.get("Content-Length", "")
            self.total = int(length) if length.isdigit() else None
            self.validator = _validator(resp)
        elif status == 206:
            parsed = _parse_content_range(resp.headers.get("Content-Range"))
            if parsed is None or parsed[0] != self.offset:
                raise _Restart(
                    f"server sent Content-Range {resp.headers.get('Content-Range')!r} "
                    f"for a request from byte {self.offset}"
                )
            self.total = parsed[1]
            length = resp.headers.get("Content-Length", "")
            if self.total is None and length.isdigit():
                self.total = self.offset + int(length)
            if self.validator is None:
                self.validator = _validator(resp)
        elif status == 416 and self.offset:
            m = _UNSATISFIED_RANGE.fullmatch(resp.headers.get("Content-Range", "").strip())
            if m and int(m.group(1)) == self.offset:
                self.total = self.offset  # everything is already here; the hash decides
                return False
            raise _Restart(
                f"server refused to resume at byte {self.offset}"
                + (f" of a {m.group(1)}-byte file" if m else "")
            )
        elif status >= 500 or status in _RETRYABLE_4XX:
            raise _Retryable(f"server answered HTTP {status}")
        else:
            raise _http_failure(self.url, resp)
        if self.progress is not None and self.progress_fresh:
            self.progress.start(self.total, self.offset)
            self.progress_started = True
            self.progress_fresh = False
        return True

    def _receive(self, resp: requests.Response) -> None:
        encoding = resp.headers.get("Content-Encoding", "identity").strip().lower()
        encoded = encoding not in ("", "identity")
        if encoded:
            # The server compressed despite "identity": decode, but a Range into the encoded
            # stream cannot be continued, so any failure restarts from zero.
            chunks: Iterator[bytes] = resp.iter_content(CHUNK_SIZE)
        else:
            # Raw reads, not iter_content: when the connection drops, urllib3's decoding
            # reader discards the partial chunk it was assembling, so bytes that did arrive
            # would be fetched again. The raw stream hands them over before failing.
            chunks = resp.raw.stream(CHUNK_SIZE, decode_content=False)
        failure: type[_Retryable] = _Restart if encoded else _Retryable
        try:
            for chunk in chunks:
                self.transferred += len(chunk)
                self.fh.write(chunk)
                # Hash after the write succeeded so offset, hash and file never disagree.
                self.hasher.update(chunk)
                self.offset += len(chunk)
                if self.progress is not None:
                    self.progress.advance(len(chunk))
        except (
            requests.exceptions.ContentDecodingError,
            urllib3.exceptions.DecodeError,
        ) as error:
            raise StepFailed(f"could not decode the response from {self.url}: {error}") from error
        except (requests.exceptions.RequestException, urllib3.exceptions.HTTPError) as error:
            # Dropped connections (IncompleteRead), read timeouts (a stalled server), resets.
            raise failure(_describe(error)) from error
        except OSError as error:
            raise StepFailed(
                f"cannot write {self.part}: {error.strerror or error}",
                hint="free some disk space, then run again: the download resumes",
            ) from error

    def _reset(self) -> None:
        self.fh.seek(0)
        self.fh.truncate()
        self.hasher.close()
        self.hasher = OverlappedSha256()
        self.offset = 0
        self.total = None
        self.validator = None
        self.stale_prefix = False
        self.progress_fresh = True

    def _discard(self) -> None:
        self.part.unlink(missing_ok=True)

    def _commit(self) -> DownloadResult:
        try:
            self.fh.flush()
            os.fsync(self.fh.fileno())
            # Mode fixed on the open file before the rename, so dest never exists with another.
            os.fchmod(self.fh.fileno(), 0o644)
            os.replace(self.part, self.dest)
            fsync_directory(self.dest.parent)
        except OSError as error:
            raise StepFailed(
                f"cannot move {self.part} to {self.dest}: {error.strerror or error}"
            ) from error
        return DownloadResult(self.dest, self.expected, self.offset, self.transferred, reused=False)


def _describe(error: Exception) -> str:
    """A short reason for a retry log line, not urllib3's nested repr soup."""
    text = str(error)
    if isinstance(error, requests.exceptions.ConnectTimeout):
        return "connection timed out"
    if isinstance(error, (requests.exceptions.ReadTimeout, urllib3.exceptions.ReadTimeoutError)):
        return "read timed out (server stalled)"
    if "timed out" in text.lower():
        return "read timed out (server stalled)"
    if (
        isinstance(
            error, (requests.exceptions.ChunkedEncodingError, urllib3.exceptions.ProtocolError)
        )
        or "IncompleteRead" in text
    ):
        return "connection dropped mid-transfer"
    return text if len(text) <= 160 else text[:157] + "..."
