#!/usr/bin/env bash
# Regenerates docs/screenshots/ (notebook.png, lab.png): the browser tests that take them,
# run against a real systemd instance (tests/e2e/test_browser.py). Needs what tests/e2e
# needs (root, debootstrap) and chromium, chromium-driver and libnss3-tools.
# The pictures are replaced only when those tests pass.
set -euo pipefail
cd "$(dirname "$0")/.."
shots=$(mktemp -d)
trap 'rm -rf "$shots"' EXIT
# A skipped test fails here instead of leaving the old pictures in place unnoticed.
JUPYTER_BOOTSTRAP_REQUIRE_E2E=1 JUPYTER_BOOTSTRAP_SCREENSHOT_DIR="$shots" \
    bash tests/run.sh -p no:cacheprovider -q tests/e2e/test_browser.py \
    -k "new_notebook or jupyterlab" "$@"
mkdir -p docs/screenshots
for picture in notebook.png lab.png; do
    test -s "$shots/$picture" || { echo "screenshots: no $picture was taken" >&2; exit 1; }
    cp "$shots/$picture" "docs/screenshots/$picture"
done
echo "screenshots: updated docs/screenshots/ (notebook.png, lab.png)"
