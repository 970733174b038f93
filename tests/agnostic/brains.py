"""Scripted models for subprocesses (``MODEL_PROVIDER=python:tests.agnostic.brains:...``)."""

from __future__ import annotations

from elizapy.models import FunctionModel, TextRequest, TextResult
from elizapy.types import ModelType


def _echo(model_type: ModelType, request: TextRequest) -> TextResult:
    user = [m.content or "" for m in request.as_messages() if m.role == "user"]
    return TextResult(text=f"echo: {user[-1] if user else ''}")


def echo() -> FunctionModel:
    """Answers every message with ``echo: <the message>`` (works under the tool loop: no tools called)."""
    return FunctionModel(_echo, name="echo")
