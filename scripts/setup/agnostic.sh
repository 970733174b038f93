#!/usr/bin/env bash
# What tests/agnostic needs beyond the base install: LangGraph + LangChain core (extra `langgraph`) and the
# official MCP SDK (extra `mcp`), installed into .venv. Idempotent: pip runs only when a requirement is missing
# or outside the tested major versions.
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PY:-${VENV:-.venv}/bin/python}"
REQUIREMENTS=("langgraph>=1.0,<2" "langchain-core>=1.0,<2" "mcp>=2.3,<3")

if "$PY" - "${REQUIREMENTS[@]}" <<'PYEOF'
import re, sys
from importlib.metadata import PackageNotFoundError, version

def ok(spec: str) -> bool:
    name, low, high = re.fullmatch(r"([\w-]+)>=([\d.]+),<(\d+)", spec).groups()
    try:
        have = tuple(int(p) for p in re.findall(r"\d+", version(name))[:3])
    except PackageNotFoundError:
        return False
    return tuple(int(p) for p in low.split(".")) <= have and have[0] < int(high)

sys.exit(0 if all(ok(s) for s in sys.argv[1:]) else 1)
PYEOF
then
  echo "agnostic test setup: already installed"
  exit 0
fi
"$PY" -m pip install -q "${REQUIREMENTS[@]}"
echo "agnostic test setup: installed ${REQUIREMENTS[*]}"
