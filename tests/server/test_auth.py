"""``X-API-KEY`` when ``ELIZA_SERVER_AUTH_TOKEN`` is set: every ``/api`` route and Socket.IO need it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from elizapy.server import ServerConfig
from elizapy.types import string_to_uuid
from tests.server.conftest import LiveServer, run_node, serve

TOKEN = "s3cret-token"
UNAUTHORIZED = {"error": "API key required", "message": "Missing or invalid X-API-KEY header"}


@pytest.fixture(scope="module")
def locked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    live = serve(tmp_path_factory.mktemp("locked"), config=ServerConfig(auth_token=TOKEN))
    yield live
    live.stop()


@pytest.mark.parametrize("key", [None, "", "wrong", TOKEN + "x", TOKEN.upper()])
@pytest.mark.parametrize(
    "method,path",
    [
        ("GET", "/api/agents"),
        ("GET", "/api/server/ping"),
        ("POST", "/api/agents"),
        ("GET", "/api/messaging/sessions"),
        ("GET", "/api/nope"),
        ("GET", "/api"),
    ],
)
def test_api_routes_need_the_key(locked: LiveServer, key: str | None, method: str, path: str) -> None:
    headers = {"X-API-KEY": key} if key is not None else {}
    r = locked.client().request(method, path, headers=headers, json={} if method == "POST" else None)
    assert r.status_code == 401
    assert r.json() == UNAUTHORIZED


def test_the_right_key_opens_the_api_and_public_routes_stay_open(locked: LiveServer) -> None:
    keyed = locked.client(TOKEN)
    assert keyed.get("/api/server/ping").json()["pong"] is True
    assert [a["name"] for a in keyed.get("/api/agents").json()["data"]["agents"]] == ["Ada"]
    anonymous = locked.client()
    assert anonymous.get("/healthz").status_code == 200
    assert anonymous.get("/").status_code == 200  # the web UI itself; it asks for the key
    preflight = anonymous.options(
        "/api/agents", headers={"Origin": "http://example.test", "Access-Control-Request-Method": "GET"}
    )
    assert preflight.status_code == 200


def test_socket_connections_need_the_key(locked: LiveServer) -> None:
    entity = str(uuid.uuid4())
    assert run_node("socket_flow.mjs", "--refused", locked.url, entity) == {
        "connected": False,
        "error": "Invalid or missing API Key",
    }
    assert run_node("socket_flow.mjs", "--refused", locked.url, entity, "wrong")["connected"] is False
    assert run_node("socket_flow.mjs", "--refused", locked.url, entity, TOKEN) == {"connected": True}


def test_official_clients_work_with_the_key(locked: LiveServer) -> None:
    out = run_node("socket_flow.mjs", locked.url, string_to_uuid("Ada"), "please say lambda6", TOKEN)
    assert "timedOut" not in out and "connectError" not in out, out
    replies = [e["data"]["text"] for e in out["events"] if e["name"] == "messageBroadcast"]
    assert replies == ["please say lambda6", "You said lambda6."]
