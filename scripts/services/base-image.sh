#!/usr/bin/env bash
# The local stand-in for python:3.11-slim-bookworm, which no build machine can
# pull: Debian 12's own Python 3.11 with venv (for the build stage) and
# ca-certificates (as the slim image has), imported by
# scripts/molecule/debian-image.sh. Cached; a second run does nothing.
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo/molecule/k3s/containers.conf}
exec "$repo/scripts/molecule/debian-image.sh" "${TITANIUM_PYTHON_IMAGE:-localhost/titanium-python:3.11-bookworm}" \
  python3 python3-venv ca-certificates
