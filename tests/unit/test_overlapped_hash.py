"""The download's sha256 runs on a thread of its own: it must give hashlib's answer for any
sequence of chunks, at any moment it is asked, and leave no thread behind."""

from __future__ import annotations

import hashlib
import os
import threading

from jupyter_bootstrap.overlapped_hash import OverlappedSha256


def sha256_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sha256"]


def test_same_digest_as_hashlib_for_chunks_of_every_size() -> None:
    chunks = [os.urandom(n) for n in (0, 1, 2047, 2048, 65536, 1 << 20, 3)]
    overlapped, plain = OverlappedSha256(), hashlib.sha256()
    for chunk in chunks:
        overlapped.update(chunk)
        plain.update(chunk)
    assert overlapped.hexdigest() == plain.hexdigest()
    assert sha256_threads() == []


def test_a_digest_read_midway_covers_everything_so_far_and_hashing_goes_on() -> None:
    first, second = os.urandom(1 << 20), os.urandom(1 << 20)
    overlapped = OverlappedSha256(depth=1)
    overlapped.update(first)
    assert overlapped.hexdigest() == hashlib.sha256(first).hexdigest()
    overlapped.update(second)
    assert overlapped.hexdigest() == hashlib.sha256(first + second).hexdigest()


def test_empty_input_and_close_without_a_digest_leave_no_thread() -> None:
    assert OverlappedSha256().hexdigest() == hashlib.sha256().hexdigest()
    abandoned = OverlappedSha256()
    abandoned.update(b"x" * 10_000)
    abandoned.close()
    assert sha256_threads() == []
