#!/usr/bin/env bash
# Builds one service's image from services/Dockerfile with podman, on the local
# base (scripts/services/base-image.sh) since no registry is reachable here:
#   build-image.sh SERVICE [IMAGE]     default IMAGE: localhost/titanium-SERVICE:dev
set -euo pipefail

service=${1:?usage: build-image.sh SERVICE [IMAGE]}
image=${2:-localhost/titanium-$service:dev}
repo=$(cd "$(dirname "$0")/../.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo/molecule/k3s/containers.conf}
export TITANIUM_PYTHON_IMAGE=${TITANIUM_PYTHON_IMAGE:-localhost/titanium-python:3.11-bookworm}
"$repo/scripts/services/base-image.sh"

# pip reaches PyPI through the host's network; where a TLS-inspecting proxy
# signs that traffic, only the host's CA bundle trusts it. It is bind-mounted
# for the RUN steps alone and never lands in a layer.
trust=()
bundle=/etc/ssl/certs/ca-certificates.crt
if [[ -s $bundle ]]; then
  trust=(--volume "$bundle:$bundle:ro")
fi

log=$(mktemp "${TMPDIR:-/tmp}/titanium-build-$service.XXXXXX")
trap 'rm -f "$log"' EXIT
start=$(date +%s)
podman build --network host "${trust[@]}" \
  --build-arg "BASE_IMAGE=$TITANIUM_PYTHON_IMAGE" --build-arg "SERVICE=$service" \
  --file "$repo/services/Dockerfile" --tag "$image" "$repo/services" >"$log" 2>&1 ||
  { tail -n 40 "$log" >&2; exit 1; }
echo "build-image: $image in $(($(date +%s) - start)) s," \
  "$(podman image inspect --format '{{ .Size }}' "$image" | numfmt --to=si)B"
