#!/usr/bin/env bash
# Installs the pinned npm packages (package-lock.json) when the lock changed.
set -euo pipefail
want=$(sha256sum package-lock.json | cut -c1-16)
stamp=node_modules/.titanium-lock
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi
echo "setup: npm ci"
npm ci --no-audit --no-fund --loglevel=error
echo "$want" >"$stamp"
