#!/usr/bin/env bash
# Builds the Go tools pinned in tools/go.mod into a cache outside the work tree
# (keyed by go.sum, so a fresh clone reuses it) and links them into build/bin.
set -euo pipefail
cache=${TITANIUM_CACHE:-$HOME/.cache/titanium}
key=$(sha256sum tools/go.mod tools/go.sum | sha256sum | cut -c1-16)
bin="$cache/go-tools/$key"
if [[ ! -f $bin/.complete ]]; then
  echo "setup: building Go tools into $bin"
  mkdir -p "$bin"
  (cd tools && GOBIN="$bin" GOFLAGS=-mod=mod go install tool)
  touch "$bin/.complete"
fi
mkdir -p build/bin
for tool in "$bin"/*; do
  ln -sfn "$tool" "build/bin/$(basename "$tool")"
done
