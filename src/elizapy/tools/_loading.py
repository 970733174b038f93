"""Resolving ``module:attribute`` references from settings (graphs, tools, backends, test models)."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path
from typing import Any

from ..errors import ConfigError


def load_object(spec: str, *, what: str = "object") -> Any:
    """The attribute named by ``spec``: ``package.module:attr`` or ``path/to/file.py:attr``.

    A file path is read relative to the working directory; dotted attributes (``module:obj.attr``) are
    followed. Every failure is a :class:`~elizapy.errors.ConfigError` naming the reference.
    """
    module_part, sep, attr_part = spec.strip().rpartition(":")
    if not sep or not module_part or not attr_part:
        raise ConfigError(f"{what} reference {spec!r} must look like 'package.module:attribute' "
                          "or 'path/to/file.py:attribute'")
    module = _import(module_part, spec, what)
    target: Any = module
    for name in attr_part.split("."):
        try:
            target = getattr(target, name)
        except AttributeError:
            raise ConfigError(f"{what} reference {spec!r}: {module_part!r} has no attribute "
                              f"{attr_part!r}") from None
    return target


def _import(module_part: str, spec: str, what: str) -> Any:
    if module_part.endswith(".py") or "/" in module_part or "\\" in module_part:
        path = Path(module_part).resolve()
        if not path.is_file():
            raise ConfigError(f"{what} reference {spec!r}: no file {str(path)!r}")
        name = f"_elizapy_ref_{path.stem}_{abs(hash(str(path))):x}"
        if name in sys.modules:
            return sys.modules[name]
        loader_spec = importlib.util.spec_from_file_location(name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ConfigError(f"{what} reference {spec!r}: cannot load {str(path)!r} as Python")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[name] = module
        try:
            loader_spec.loader.exec_module(module)
        except Exception:
            del sys.modules[name]
            raise
        return module
    try:
        return importlib.import_module(module_part)
    except ModuleNotFoundError as exc:
        if exc.name and module_part.startswith(exc.name):
            raise ConfigError(f"{what} reference {spec!r}: module {module_part!r} not found "
                              "(is it on PYTHONPATH, or should it be a file path?)") from exc
        raise
