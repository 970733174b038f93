#!/usr/bin/env bash
# What the server tests (tests/server) need beyond Python: Node + npm, Debian's Chromium, the official
# ElizaOS clients (npm ci in tests/server/node) and the @elizaos/client 1.7.2 web build that `elizapy start`
# serves at / when present. Idempotent: each step is skipped when its result is already there.
set -euo pipefail
cd "$(dirname "$0")/../.."

CLIENT_VERSION=1.7.2
CLIENT_INTEGRITY="sha512-/ZdtejKf073nOWypbN0ZXD+FiV4ZSjg62PiP+dpsTt2VGTp7OkttepcwdbZFxLJCGLHSo5yek/zyhBCknHV71g=="
CACHE="${ELIZAPY_CACHE_DIR:-$HOME/.cache/elizapy}"
UI_DIR="$CACHE/ui/elizaos-client-$CLIENT_VERSION"
NODE_DIR=tests/server/node

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
apt_install() {
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$@" >/dev/null
}

command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm
command -v chromium >/dev/null || [ -x /usr/bin/chromium ] || apt_install chromium

# Node test packages, reinstalled only when the lockfile changed.
stamp="$NODE_DIR/node_modules/.elizapy-lock"
if ! cmp -s "$NODE_DIR/package-lock.json" "$stamp" 2>/dev/null; then
  (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error)
  cp "$NODE_DIR/package-lock.json" "$stamp"
fi

# The official web client: only its prebuilt dist is needed (installing the package would pull its ~50
# build-time dependencies), so fetch the tarball with `npm pack` and check it against the pinned integrity.
if [ ! -f "$UI_DIR/dist/index.html" ]; then
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack "@elizaos/client@$CLIENT_VERSION" --silent >/dev/null)
  tarball="$tmp/elizaos-client-$CLIENT_VERSION.tgz"
  actual="sha512-$(node -e 'process.stdout.write(require("crypto").createHash("sha512")
    .update(require("fs").readFileSync(process.argv[1])).digest("base64"))' "$tarball")"
  if [ "$actual" != "$CLIENT_INTEGRITY" ]; then
    echo "error: @elizaos/client@$CLIENT_VERSION tarball integrity mismatch ($actual)" >&2
    exit 1
  fi
  mkdir -p "$tmp/x" "$(dirname "$UI_DIR")"
  tar -xzf "$tarball" -C "$tmp/x" package/dist package/LICENSE package/package.json
  rm -rf "$UI_DIR"
  mv "$tmp/x/package" "$UI_DIR"
fi
echo "server test setup: node $(node --version), $(chromium --version 2>/dev/null | head -1), web client in $UI_DIR"
