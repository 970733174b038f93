"""Serving a web client at ``/``: the built-in chat page (``index.html``, ``app.js``, ``style.css`` here) or
any built single-page app (such as the dist of ``@elizaos/client``), with SPA fallback to ``index.html``."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, Response

BUILTIN_UI = Path(__file__).parent
"""The built-in page: plain HTML and JavaScript on the REST API, no build step."""

_MEDIA_TYPES = {
    ".js": "application/javascript",
    ".mjs": "application/javascript",
    ".css": "text/css",
    ".html": "text/html",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".ico": "image/x-icon",
    ".json": "application/json",
    ".map": "application/json",
    ".woff2": "font/woff2",
    ".wasm": "application/wasm",
}
_HIDDEN_SUFFIXES = frozenset({".py", ".pyc"})


def mount_ui(app: FastAPI, directory: Path) -> None:
    """Serve ``directory`` under ``/`` after every other route (so the API and ``/docs`` win)."""
    root = Path(os.path.realpath(directory))
    index = root / "index.html"

    @app.get("/{path:path}", include_in_schema=False)
    def ui(path: str) -> Response:  # sync: FastAPI runs it in a worker thread (it touches the disk)
        if path == "api" or path.startswith("api/"):
            return JSONResponse(
                {"success": False, "error": {"message": "API endpoint not found", "code": 404}},
                status_code=404,
            )
        if path:
            target = Path(os.path.realpath(root / path))
            if target.is_relative_to(root) and target.is_file() and target.suffix not in _HIDDEN_SUFFIXES:
                return FileResponse(target, media_type=_MEDIA_TYPES.get(target.suffix.lower()))
            if target.suffix.lower() in (".js", ".mjs", ".css", ".map"):
                return PlainTextResponse(
                    f"// not found: /{path}", status_code=404, media_type=_MEDIA_TYPES[target.suffix.lower()]
                )
        if not index.is_file():
            return PlainTextResponse("Client application not found", status_code=404)
        return FileResponse(index, media_type="text/html")
