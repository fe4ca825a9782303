#!/usr/bin/env bash
# Build the HTML documentation, then look at it in a real browser: headless
# Chromium (Debian's chromium-headless-shell or chromium; a browser that
# downloads its own build cannot install offline) takes screenshots of the
# landing page, a guide, an API page and a gallery example, at a laptop's
# width and a phone's, into docs/_build/screenshots/.
#
#   bash scripts/docs_screenshots.sh            # build without running the examples
#   bash scripts/docs_screenshots.sh --gallery  # run them too (figures; ~15 min)
#
# Installs the browser with apt-get where it is missing and apt-get can (as
# root or through password-less sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-.venv/bin/python}
OUT=docs/_build
SHOTS=$OUT/screenshots
GALLERY=(-D plot_gallery=0)
if [[ "${1:-}" == "--gallery" ]]; then
    GALLERY=()
fi

browser() {
    for name in chromium-headless-shell chromium chromium-browser; do
        if command -v "$name" >/dev/null 2>&1; then
            command -v "$name"
            return 0
        fi
    done
    return 1
}

if ! BROWSER=$(browser); then
    source scripts/_debian.sh
    install_chromium
    BROWSER=$(browser) || {
        echo "No Chromium here: sudo apt-get install chromium-headless-shell" >&2
        exit 1
    }
fi

"$PYTHON" -m sphinx -q -W --keep-going -b html "${GALLERY[@]}" \
    -d "$OUT/doctrees" docs "$OUT/html"

mkdir -p "$SHOTS"
PAGES=(
    "landing index.html"
    "guide guide/recipe.html"
    "api generated/sktransfer.PretrainedCNNClassifier.html"
    "gallery auto_examples/plot_photos.html"
)
for entry in "${PAGES[@]}"; do
    read -r name page <<<"$entry"
    for size in "laptop 1366,900" "phone 412,915"; do
        read -r label window <<<"$size"
        target="$SHOTS/$name-$label.png"
        "$BROWSER" --headless --no-sandbox --disable-gpu --hide-scrollbars \
            --window-size="$window" --screenshot="$PWD/$target" \
            "file://$PWD/$OUT/html/$page" >/dev/null 2>&1
        test -s "$target" || {
            echo "no screenshot of $page" >&2
            exit 1
        }
        echo "$target"
    done
done
