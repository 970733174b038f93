#!/usr/bin/env bash
# What the sidekick tests need beyond Python: Node >= 20.14 + npm, the plugin's npm packages (npm ci in
# packages/plugin-python-sidekick: @elizaos/core, plugin-bootstrap and plugin-sql 1.7.2, TypeScript) and its
# compiled dist/. Idempotent: npm ci runs only when the lockfile changed, tsc only when a source is newer
# than the build.
set -euo pipefail
cd "$(dirname "$0")/../.."
PKG=packages/plugin-python-sidekick

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq nodejs npm >/dev/null
fi
# node --test --test-force-exit (the plugin's tests) needs 20.14 or newer
if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 14) ? 0 : 1)'; then
  echo "error: the sidekick plugin needs Node >= 20.14 (found $(node --version))" >&2
  exit 1
fi

stamp="$PKG/node_modules/.elizapy-lock"
if ! cmp -s "$PKG/package-lock.json" "$stamp" 2>/dev/null; then
  (cd "$PKG" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$PKG/package-lock.json" "$stamp"
fi

built="$PKG/dist/index.js"
if [ ! -f "$built" ] || [ -n "$(find "$PKG/src" "$PKG/tsconfig.json" "$PKG/package-lock.json" -newer "$built" -print -quit)" ]; then
  (cd "$PKG" && rm -rf dist && node_modules/.bin/tsc -p tsconfig.json)
fi
echo "sidekick setup: node $(node --version), $(cd "$PKG" && node -p 'require("@elizaos/core/package.json").version' 2>/dev/null || echo '?') core, dist built"
