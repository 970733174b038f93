"""The TypeScript plugin's own tests (``node --test`` in packages/plugin-python-sidekick), run from pytest.

They start real @elizaos/core 1.7.2 AgentRuntimes (plugin-bootstrap + plugin-sql/PGLite) with the plugin
and a real Python sidekick process. Needs node and ``scripts/setup/sidekick.sh`` (npm ci + tsc); the test
rebuilds a stale dist/ with the package's own tsc but never installs anything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.node, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
PACKAGE = REPO / "packages" / "plugin-python-sidekick"
NODE = shutil.which("node")
TSC = PACKAGE / "node_modules" / ".bin" / "tsc"

if NODE is None:
    pytest.skip("node is not installed", allow_module_level=True)
if not (PACKAGE / "node_modules" / "@elizaos" / "core").is_dir() or not TSC.exists():
    pytest.skip(
        "packages/plugin-python-sidekick/node_modules is absent (run: scripts/setup/sidekick.sh)",
        allow_module_level=True,
    )


def _stale() -> bool:
    built = PACKAGE / "dist" / "index.js"
    if not built.exists():
        return True
    newest = max(p.stat().st_mtime for p in [*(PACKAGE / "src").glob("*.ts"), PACKAGE / "tsconfig.json"])
    return newest > built.stat().st_mtime


def test_node_test_suite_passes_against_real_elizaos_runtime() -> None:
    assert NODE is not None
    if _stale():
        build = subprocess.run(
            [str(TSC), "-p", "tsconfig.json"],
            cwd=PACKAGE,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert build.returncode == 0, f"tsc failed:\n{build.stdout}\n{build.stderr}"
    tests = sorted(str(p.relative_to(PACKAGE)) for p in (PACKAGE / "test").glob("*.test.mjs"))
    assert tests, "no TS test files found"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON_SIDEKICK_")}
    # the fixtures run the sidekick with this interpreter's elizapy (the venv the tests run in)
    env["SIDEKICK_TEST_PYTHON"] = sys.executable
    proc = subprocess.run(
        [NODE, "--test", "--test-force-exit", "--test-concurrency=1", *tests],
        cwd=PACKAGE,
        env=env,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )
    summary = "\n".join(line for line in proc.stdout.splitlines() if line.startswith("# "))
    assert proc.returncode == 0, f"node --test failed:\n{proc.stdout[-6000:]}\n{proc.stderr[-3000:]}"
    assert "# fail 0" in summary and "# pass 0" not in summary, summary
