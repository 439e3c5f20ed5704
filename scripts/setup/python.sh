#!/usr/bin/env bash
# Creates a virtualenv from a hash-pinned lock file. Re-syncs only when the lock
# changed (the stamp holds the lock's checksum), so a second run is instant.
# usage: python.sh VENV_DIR LOCK_FILE
set -euo pipefail
venv=$1 lock=$2
want=$(sha256sum "$lock" requirements/bootstrap.txt "$0" | sha256sum | cut -c1-16)
stamp="$venv/.titanium-lock"
if [[ -f $stamp && $(cat "$stamp") == "$want" ]]; then
  exit 0
fi
echo "setup: syncing $venv from $lock"
[[ -x $venv/bin/python ]] || python3 -m venv "$venv"
"$venv/bin/pip" install -q -r requirements/bootstrap.txt
# Bytecode compiled once here: otherwise every test process recompiles
# fastapi, SQLAlchemy and pydantic, seconds each on a loaded machine.
"$venv/bin/uv" pip sync -q --require-hashes --compile-bytecode --python "$venv/bin/python" "$lock"
echo "$want" >"$stamp"
