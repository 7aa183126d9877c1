#!/usr/bin/env bash
# System tools the test suite drives for real: Debian's Chromium (the staff page is tested in
# a real headless browser), Prometheus with promtool (the shipped config, alert rules and
# a real scrape of the stack) and node/npm for axe-core. Installed from Debian's packages when
# missing, as root. Then axe-core (the accessibility engine tests/e2e/test_axe.py injects into
# Chromium) from npm, at the exact version and integrity of tests/e2e/axe/package-lock.json,
# into the git-ignored .local/axe (npm ci: the same bytes on every machine).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
command -v npm >/dev/null 2>&1 || need+=(npm)

install_axe() {
    local lock="$root/tests/e2e/axe/package-lock.json" target="$root/.local/axe"
    # Already installed from this very lock file: nothing to do (and no network needed).
    if [ -f "$target/node_modules/axe-core/axe.min.js" ] && cmp -s "$lock" "$target/package-lock.json"; then
        return 0
    fi
    echo "installing axe-core from npm (tests/e2e/axe/package-lock.json) into .local/axe …"
    mkdir -p "$target"
    cp "$root/tests/e2e/axe/package.json" "$lock" "$target/"
    (cd "$target" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >/dev/null)
}

if [ ${#need[@]} -eq 0 ]; then
    install_axe
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "test tools missing: ${need[*]}; install them (Debian/Ubuntu: sudo apt-get install ${need[*]})" >&2
    exit 1
fi
echo "installing test tools from Debian's packages: ${need[*]} …"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
# The package starts a system Prometheus on :9090; the tests start their own.
if command -v systemctl >/dev/null 2>&1; then systemctl stop prometheus >/dev/null 2>&1 || true; fi
pkill -x prometheus >/dev/null 2>&1 || true
install_axe
