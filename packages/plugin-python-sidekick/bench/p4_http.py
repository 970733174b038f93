"""The HTTP/JSON leg of ``p4.mjs``: the sidekick's own ``action/invoke`` handler behind a bare ASGI route.

Each ``POST /invoke`` body is the ``action/invoke`` params object; it is decoded and served by the same
:class:`~elizapy.sidekick.server.SidekickServer` the stdio sidekick uses (pydantic validation, the action
call, the result encoding), so the only difference from the stdio leg is the transport. Prints
``LISTENING <port>`` on stdout once uvicorn accepts connections.

    python p4_http.py --module roundtrip_module [--port 0]
"""

from __future__ import annotations

import argparse
import json
import socket
import sys
from pathlib import Path
from typing import Any

import uvicorn

from elizapy.sidekick.dispatcher import Dispatcher, RequestContext
from elizapy.sidekick.sdk import SidekickApp
from elizapy.sidekick.server import SidekickServer
from elizapy.sidekick.transport import memory_pair
from elizapy.sidekick.wire import AgentInfo

Scope = dict[str, Any]


def build_app(module: str) -> Any:
    sk = SidekickServer(SidekickApp.from_module(module))
    transport, _ = memory_pair()
    dispatcher = Dispatcher(transport, sk)
    sk.bind(dispatcher)
    sk.agent = AgentInfo(id="00000000-0000-0000-0000-000000000001", name="Bench")
    counter = 0

    async def app(scope: Scope, receive: Any, send: Any) -> None:
        nonlocal counter
        if scope["type"] == "lifespan":
            while True:
                msg = await receive()
                if msg["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif msg["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        body = b""
        more = True
        while more:
            msg = await receive()
            body += msg.get("body", b"")
            more = msg.get("more_body", False)
        counter += 1
        ctx = RequestContext(counter, "action/invoke", dispatcher)
        status = 200
        try:
            out: Any = await sk.handle_request("action/invoke", json.loads(body), ctx)
        except Exception as exc:  # the same "exception becomes an error object" rule as the RPC leg
            status = 500
            out = {"error": f"{type(exc).__name__}: {exc}"}
        payload = json.dumps(out, separators=(",", ":")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", b"%d" % len(payload)),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--module", required=True)
    parser.add_argument("--app-dir", default=str(Path(__file__).parent))
    args = parser.parse_args()
    sys.path.insert(0, args.app_dir)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # accepted connections inherit TCP_NODELAY: the status line and the body go out as two small writes,
    # which Nagle + delayed ACK would otherwise hold for ~40 ms
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(build_app(args.module), log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)

    original_startup = server.startup

    async def startup(sockets: list[socket.socket] | None = None) -> None:
        await original_startup(sockets)
        print(f"LISTENING {port}", flush=True)

    server.startup = startup  # type: ignore[method-assign]
    server.run(sockets=[sock])


if __name__ == "__main__":
    main()
