"""A sha256 computed on a thread of its own, so that hashing a download overlaps receiving it
and writing it to disk.

hashlib releases the GIL while it hashes a buffer of more than a few KiB, so on a machine
with two cores the hash of a 1 GB installer costs almost no wall time of its own: the caller
goes on reading the socket and writing the file while the previous chunk is being hashed.
Done in line, the download took as long as receiving plus hashing; overlapped, it takes as
long as the slower of the two.

Memory stays bounded whatever the file size: `update` waits while `depth` chunks are queued.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from typing import Optional

# Chunks waiting to be hashed. Two are enough to keep the hashing thread busy while the
# caller is in a recv() or a write(); more would only hold more memory.
DEFAULT_DEPTH = 4


class OverlappedSha256:
    """Like hashlib.sha256() for `update` and `hexdigest`, but `update` only queues the data.

    The bytes objects handed to `update` must not change afterwards (bytes never do).
    `hexdigest` waits for every queued chunk, so it always covers everything given so far.
    Call `close` when giving up on a hash whose digest is never read: it ends the thread.
    """

    def __init__(self, depth: int = DEFAULT_DEPTH) -> None:
        self._hash = hashlib.sha256()
        self._queue: queue.Queue[Optional[bytes]] = queue.Queue(depth)
        self._thread: Optional[threading.Thread] = None

    def update(self, data: bytes) -> None:
        if self._thread is None:
            # Daemon: a Ctrl-C that unwinds the caller must not leave the process waiting
            # for a thread blocked on an empty queue.
            self._thread = threading.Thread(target=self._run, name="sha256", daemon=True)
            self._thread.start()
        self._queue.put(data)

    def hexdigest(self) -> str:
        self._drain()
        return self._hash.hexdigest()

    def close(self) -> None:
        self._drain()

    def _drain(self) -> None:
        """Wait until every queued chunk is hashed, and end the thread (the next `update`
        starts another: between attempts of a download none is left waiting)."""
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join()
        self._thread = None

    def _run(self) -> None:
        while (chunk := self._queue.get()) is not None:
            self._hash.update(chunk)
