"""A real HTTP server on 127.0.0.1 that serves files and misbehaves on request.

Used by the download tests, the conda step tests (a fake installer and a fake archive index
page) and the download benchmark. It is a genuine socket server (http.server, HTTP/1.1
keep-alive), so clients go through their whole stack: connection pools, timeouts, Range.

    with InstallerServer() as srv:
        srv.add("/a.sh", b"...", Behaviour(drop_after=1_000_000))
        download(srv.url("/a.sh"))
        assert srv.bytes_sent("/a.sh") == ...

Per-path behaviours (see `Behaviour`): honour Range (206) or ignore it (200 full); drop the
connection after N body bytes (first K GETs); stall after N bytes (first K GETs); answer a
fixed status (404, 503...) for the first K GETs or always; flip one byte (wrong content).
Every request is recorded (method, path, Range/If-Range, headers, status, body bytes sent).
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Optional, Union
from urllib.parse import urlsplit

_RANGE = re.compile(r"bytes=(\d*)-(\d*)")
_WRITE_CHUNK = 64 * 1024


@dataclass
class Behaviour:
    """How one path is served. The default is a well-behaved static file server."""

    honour_range: bool = True
    # Close the connection after this many body bytes of a GET response...
    drop_after: Optional[int] = None
    # ...for the first `drop_times` GETs of this path (later GETs are served normally).
    drop_times: int = 1
    # Go silent for `stall_seconds` after this many body bytes (first `stall_times` GETs),
    # then carry on sending if the client is still there.
    stall_after: Optional[int] = None
    stall_seconds: float = 5.0
    stall_times: int = 1
    # Answer this status with a tiny body instead of the file (first `status_times` GETs and
    # HEADs, or always when status_times is None).
    status: Optional[int] = None
    status_times: Optional[int] = None
    # Flip this byte of the file in every response: same size, wrong sha256.
    corrupt_at: Optional[int] = None
    content_type: str = "application/octet-stream"
    # Sent as ETag; a Range request whose If-Range differs gets the whole file (RFC 9110).
    etag: Optional[str] = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RequestRecord:
    method: str
    path: str
    range: Optional[str]
    if_range: Optional[str]
    headers: dict[str, str]
    status: int
    bytes_sent: int  # body bytes handed to the kernel for this response


class _Entry:
    def __init__(self, data: Union[bytes, Path], behaviour: Behaviour) -> None:
        self.data = data
        self.behaviour = behaviour
        self.size = data.stat().st_size if isinstance(data, Path) else len(data)
        self.gets = 0
        self.heads = 0

    def read(self, start: int, length: int) -> bytes:
        if isinstance(self.data, Path):
            with open(self.data, "rb") as f:
                f.seek(start)
                return f.read(length)
        return self.data[start : start + length]


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Keep-alive connections idle in readline() would make server_close() wait forever;
    # InstallerServer.close() shuts their sockets instead.
    block_on_close = False
    owner: InstallerServer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, like real servers; needs Content-Length
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.server.owner._track(self.connection, add=True)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            self.server.owner._track(self.connection, add=False)

    def log_message(self, format: str, *args: object) -> None:
        pass  # tests assert on records, not on stderr noise

    def do_GET(self) -> None:
        self._serve(head=False)

    def do_HEAD(self) -> None:
        self._serve(head=True)

    def _serve(self, head: bool) -> None:
        owner = self.server.owner
        seq = owner._begin()
        path = urlsplit(self.path).path
        # Updated as the response goes out, so a client hanging up mid-body is still counted.
        self._status, self._sent = 0, 0
        try:
            self._respond(owner, path, head)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            owner._end(
                seq,
                RequestRecord(
                    method=self.command,
                    path=path,
                    range=self.headers.get("Range"),
                    if_range=self.headers.get("If-Range"),
                    headers=dict(self.headers.items()),
                    status=self._status,
                    bytes_sent=self._sent,
                ),
            )

    def _write(self, data: bytes) -> None:
        self.wfile.write(data)
        self._sent += len(data)
        self.server.owner._count(len(data))

    def _small(
        self, status: int, body: bytes, head: bool, extra: Optional[dict[str, str]] = None
    ) -> None:
        self._status = status
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if not head:
            self._write(body)

    def _respond(self, owner: InstallerServer, path: str, head: bool) -> None:
        entry, nth = owner._lookup(path, head)
        if entry is None:
            self._small(404, b"not found\n", head)
            return
        b = entry.behaviour
        if b.status is not None and (b.status_times is None or nth < b.status_times):
            self._small(b.status, f"status {b.status}\n".encode(), head)
            return

        size = entry.size
        start, end, partial = 0, size - 1, False
        rng = self.headers.get("Range")
        if rng and b.honour_range and not self._if_range_failed(b):
            m = _RANGE.fullmatch(rng.strip())
            if m and (m.group(1) or m.group(2)):
                if m.group(1):
                    start = int(m.group(1))
                    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                else:  # suffix range: the last N bytes
                    start = max(0, size - int(m.group(2)))
                if start >= size or start > end:
                    self._small(
                        416, b"range not satisfiable\n", head, {"Content-Range": f"bytes */{size}"}
                    )
                    return
                partial = True
        length = end - start + 1 if size else 0

        self._status = 206 if partial else 200
        self.send_response(self._status)
        self.send_header("Content-Type", b.content_type)
        self.send_header("Content-Length", str(length))
        if b.honour_range:
            self.send_header("Accept-Ranges", "bytes")
        if partial:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        if b.etag:
            self.send_header("ETag", b.etag)
        for k, v in b.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if head:
            return

        drop_at = b.drop_after if b.drop_after is not None and nth < b.drop_times else None
        stall_at = b.stall_after if b.stall_after is not None and nth < b.stall_times else None
        plain = drop_at is None and stall_at is None and b.corrupt_at is None
        if plain and isinstance(entry.data, Path) and length:
            # Zero-copy for big files (the benchmark): keeps the server's cost off the clock.
            with open(entry.data, "rb") as f:
                sent = self.connection.sendfile(f, offset=start, count=length)
            self._sent += sent
            owner._count(sent)
            return

        while (sent := self._sent) < length:
            if drop_at is not None and sent >= drop_at:
                self.close_connection = True  # the server closes the socket: client sees EOF
                return
            if stall_at is not None and sent >= stall_at:
                stall_at = None
                if owner._stopping.wait(b.stall_seconds):
                    self.close_connection = True
                    return
            n = min(_WRITE_CHUNK, length - sent)
            for limit in (drop_at, stall_at):
                if limit is not None and sent < limit:
                    n = min(n, limit - sent)
            chunk = entry.read(start + sent, n)
            if b.corrupt_at is not None and start + sent <= b.corrupt_at < start + sent + n:
                i = b.corrupt_at - (start + sent)
                chunk = chunk[:i] + bytes([chunk[i] ^ 0xFF]) + chunk[i + 1 :]
            self._write(chunk)

    def _if_range_failed(self, b: Behaviour) -> bool:
        if_range = self.headers.get("If-Range")
        return bool(if_range) and if_range != b.etag


class InstallerServer:
    """Threaded loopback HTTP server; use as a context manager (or start()/close())."""

    def __init__(self, files: Optional[dict[str, Union[bytes, Path]]] = None) -> None:
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._entries: dict[str, _Entry] = {}
        self._records: list[tuple[int, RequestRecord]] = []
        self._in_flight = 0
        self._sent_total = 0
        self._connections: set[socket.socket] = set()
        self._httpd: Optional[_HTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self._seq = 0
        for path, data in (files or {}).items():
            self.add(path, data)

    # -- lifecycle
    def start(self) -> InstallerServer:
        httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        httpd.owner = self
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="installer-server",
            daemon=True,
        )
        self._thread.start()
        return self

    def close(self) -> None:
        if self._httpd is None:
            return
        self._stopping.set()  # wakes stalled handlers
        self._httpd.shutdown()
        with self._lock:
            conns = list(self._connections)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd = None

    def __enter__(self) -> InstallerServer:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.close()

    # -- content
    def add(
        self, path: str, data: Union[bytes, Path], behaviour: Optional[Behaviour] = None
    ) -> str:
        """Serve `data` at `path` (replacing what was there, counters reset); returns the URL."""
        path = _norm(path)
        with self._lock:
            self._entries[path] = _Entry(data, behaviour or Behaviour())
        return self.url(path) if self._httpd else path

    def add_directory(self, directory: Path, prefix: str = "/") -> None:
        """Serve every file under `directory` at prefix + its relative path."""
        for f in sorted(Path(directory).rglob("*")):
            if f.is_file():
                self.add(prefix.rstrip("/") + "/" + f.relative_to(directory).as_posix(), f)

    def set_behaviour(self, path: str, behaviour: Behaviour) -> None:
        with self._lock:
            entry = self._entries[_norm(path)]
            entry.behaviour = behaviour
            entry.gets = entry.heads = 0

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return int(self._httpd.server_address[1])

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{_norm(path)}"

    # -- observations (each waits for handlers still writing, so counts are final)
    def wait_idle(self, timeout: float = 10.0) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._in_flight == 0, timeout)

    def requests(
        self, path: Optional[str] = None, method: Optional[str] = None
    ) -> list[RequestRecord]:
        self.wait_idle()
        with self._lock:
            # In arrival order: a stalled first request may finish after its retry.
            return [
                r
                for _, r in sorted(self._records, key=lambda sr: sr[0])
                if (path is None or r.path == _norm(path))
                and (method is None or r.method == method)
            ]

    def bytes_sent(self, path: Optional[str] = None) -> int:
        """Body bytes sent (all paths, or one path), summed over finished requests."""
        if path is None:
            self.wait_idle()
            with self._lock:
                return self._sent_total
        return sum(r.bytes_sent for r in self.requests(path))

    def reset_counters(self) -> None:
        self.wait_idle()
        with self._lock:
            self._records.clear()
            self._sent_total = 0
            for e in self._entries.values():
                e.gets = e.heads = 0

    # -- called from handler threads
    def _lookup(self, path: str, head: bool) -> tuple[Optional[_Entry], int]:
        with self._lock:
            entry = self._entries.get(path)
            if entry is None:
                return None, 0
            if head:
                entry.heads += 1
                return entry, entry.heads - 1
            entry.gets += 1
            return entry, entry.gets - 1

    def _begin(self) -> int:
        with self._lock:
            self._in_flight += 1
            self._seq += 1
            return self._seq

    def _end(self, seq: int, record: RequestRecord) -> None:
        with self._idle:
            self._records.append((seq, record))
            self._in_flight -= 1
            self._idle.notify_all()

    def _count(self, n: int) -> None:
        with self._lock:
            self._sent_total += n

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            if add:
                self._connections.add(conn)
            else:
                self._connections.discard(conn)


def _norm(path: str) -> str:
    return path if path.startswith("/") else "/" + path
