#!/bin/sh
# Renders a `diagnose --format html` page in a real headless browser and takes a screenshot,
# to look at the page as a reviewer would (issue #15: "checked in a real headless browser").
#
# usage: tests/tools/html_screenshot.sh [PAGE.html] [OUT.png]
#
# Without PAGE, the page of the integration test
# diagnose_cli::html_page_is_well_formed_self_contained_and_escapes_log_text is written first
# (GWLINT_HTML_OUT). Needs chromium (Debian: apt-get install -y chromium). The page has no
# script and no external asset, so the browser runs with JavaScript and the network off.
set -eu
cd "$(dirname "$0")/../.."
page=${1:-target/diagnose-review.html}
out=${2:-target/diagnose-review.png}
if [ $# -lt 1 ]; then
    GWLINT_HTML_OUT="$PWD/$page" cargo test --quiet --test it \
        diagnose_cli::html_page_is_well_formed_self_contained_and_escapes_log_text >/dev/null
fi
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "no chromium found: apt-get install -y chromium" >&2; exit 2; }
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-javascript \
    --user-data-dir="$profile" --proxy-server=127.0.0.1:9 --window-size=1200,1800 \
    --screenshot="$PWD/$out" "file://$(realpath "$page")" 2>/dev/null
echo "$out"
