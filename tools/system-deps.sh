#!/usr/bin/env bash
# Install the Debian packages the report tests need (chromium, poppler-utils),
# only when they are missing. Idempotent, non-interactive, works as root with no tty.
set -euo pipefail

need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)

if [ ${#need[@]} -eq 0 ]; then
    echo "system-deps: chromium and poppler-utils already installed"
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo -n)
else
    echo "error: tools/system-deps.sh: need root (or sudo) to install: ${need[*]}" >&2
    exit 2
fi

export DEBIAN_FRONTEND=noninteractive
echo "system-deps: installing ${need[*]}"
"${SUDO[@]}" apt-get update -qq </dev/null
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${need[@]}" </dev/null >/dev/null
for cmd in chromium pdftotext; do
    if ! command -v "$cmd" >/dev/null 2>&1; then
        echo "error: tools/system-deps.sh: $cmd still missing after apt-get install" >&2
        exit 2
    fi
done
echo "system-deps: installed ${need[*]}"
