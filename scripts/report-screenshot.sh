#!/usr/bin/env bash
# report-screenshot.sh: take a screenshot of an HTML incident report in
# headless Chromium, to check how it reads.
#
#   scripts/report-screenshot.sh REPORT.html [SCREENSHOT.png] [WIDTH] [HEIGHT]
#
# Make the report with `essential-ir report --html --file REPORT.html INCIDENT`
# (against the emulated account, see Documentation/cli.md). The screenshot
# defaults to REPORT.png, 1280 x 4000 pixels (the whole report of one
# instance). Needs Debian's chromium (apt-get install -y chromium) or
# CHROMIUM=/path/to/chromium; exits 2 if there is none. The browser runs
# with a throw-away profile, no sandbox (for containers), no GPU and no
# network features, and loads nothing but the file.
set -euo pipefail

if [[ $# -lt 1 || $# -gt 4 || "$1" == -h || "$1" == --help ]]; then
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
	exit 2
fi
report=$1
shot=${2:-${report%.html}.png}
width=${3:-1280}
height=${4:-4000}

browser=${CHROMIUM:-}
if [[ -z "$browser" ]]; then
	for b in chromium chromium-browser google-chrome; do
		if command -v "$b" >/dev/null; then
			browser=$(command -v "$b")
			break
		fi
	done
fi
if [[ -z "$browser" ]]; then
	echo "report-screenshot: no Chromium found: apt-get install -y chromium, or set CHROMIUM" >&2
	exit 2
fi
if [[ ! -r "$report" ]]; then
	echo "report-screenshot: cannot read $report" >&2
	exit 2
fi

profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
"$browser" --headless --no-sandbox --disable-gpu --disable-background-networking \
	--disable-component-update --disable-sync --no-first-run --hide-scrollbars \
	--user-data-dir="$profile" --window-size="$width,$height" \
	--screenshot="$(realpath -m "$shot")" "file://$(realpath "$report")" >/dev/null 2>"$profile/stderr" || {
	cat "$profile/stderr" >&2
	exit 1
}
if [[ ! -s "$shot" ]]; then
	echo "report-screenshot: Chromium wrote no screenshot" >&2
	cat "$profile/stderr" >&2
	exit 1
fi
echo "$shot"
