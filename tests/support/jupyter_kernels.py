"""Kernels and terminals of a running Jupyter Server, driven from this process the way the
browser drives them: over the logged-in session's websocket, TLS verified against the
file a test trusts (the e2e instances share the host's network, so that is 127.0.0.1)."""

from __future__ import annotations

import asyncio
import json
import ssl
import time
import uuid
from typing import Callable

import requests


def websocket_exchange(
    url: str, session: requests.Session, cafile: str, send: str, done: Callable[[str], bool]
) -> list[str]:
    """Send one message on a Jupyter websocket, collect replies until `done` says so."""
    import tornado.httpclient
    import tornado.websocket

    async def exchange() -> list[str]:
        cookies = "; ".join(f"{c.name}={c.value}" for c in session.cookies)
        request = tornado.httpclient.HTTPRequest(
            url, headers={"Cookie": cookies}, ssl_options=ssl.create_default_context(cafile=cafile)
        )
        connection = await tornado.websocket.websocket_connect(request)
        await connection.write_message(send)
        received: list[str] = []
        deadline = time.monotonic() + 60
        while not received or not done(received[-1]):
            remaining = deadline - time.monotonic()
            message = await asyncio.wait_for(connection.read_message(), remaining)
            assert message is not None, f"websocket closed; got {received}"
            received.append(str(message))
        connection.close()
        return received

    return asyncio.run(exchange())


def start_kernel(
    port: int, session: requests.Session, xsrf: str, cafile: str, host: str = "localhost"
) -> str:
    """A new kernel of the logged-in session; its id."""
    started = session.post(
        f"https://{host}:{port}/api/kernels", json={}, headers={"X-XSRFToken": xsrf},
        verify=cafile, timeout=60,
    )  # fmt: skip
    assert started.status_code == 201, started.text
    return str(started.json()["id"])


def execute(
    port: int,
    session: requests.Session,
    cafile: str,
    kernel: str,
    code: str,
    host: str = "localhost",
) -> str:
    """Run `code` in a running kernel over its websocket; what it printed."""
    request = {
        "header": {"msg_id": uuid.uuid4().hex, "username": "e2e", "session": uuid.uuid4().hex,
                   "msg_type": "execute_request", "version": "5.3", "date": ""},
        "parent_header": {}, "metadata": {}, "buffers": [], "channel": "shell",
        "content": {"code": code, "silent": False, "store_history": False,
                    "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
    }  # fmt: skip

    def printed(message: str) -> bool:
        data = json.loads(message)
        if data.get("msg_type") == "error":
            raise AssertionError(f"the kernel failed: {data['content']}")
        return bool(data.get("msg_type") == "stream")

    url = f"wss://{host}:{port}/api/kernels/{kernel}/channels"
    replies = websocket_exchange(url, session, cafile, json.dumps(request), printed)
    return str(json.loads(replies[-1])["content"]["text"]).strip()
