#!/usr/bin/env bash
# Builds what the rehearsal's real node runs besides the services, on the
# services' own local base (scripts/services/base-image.sh; nothing pulled):
#   localhost/titanium-postgres:15        (Debian's postgresql: PostgreSQL 15)
#   localhost/titanium-redis:7            (Debian's redis-server: Redis 7.0)
#   localhost/titanium-k6:<K6_VERSION>    (build/bin/k6: the loadgen image's tag)
#   localhost/titanium-local-path-provisioner:<LOCAL_PATH_PROVISIONER_VERSION>
#                                         (built here from its Go module, cached)
# A second run rebuilds nothing podman has cached. The list goes to
# build/rehearsal-images.json; scripts/rehearsal.py imports them into the node's
# containerd and names them to the overlay by digest.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo/molecule/k3s/containers.conf}
export TITANIUM_PYTHON_IMAGE=${TITANIUM_PYTHON_IMAGE:-localhost/titanium-python:3.11-bookworm}
"$repo/scripts/services/base-image.sh"

build() { # image, Containerfile, context
  local log
  log=$(mktemp "${TMPDIR:-/tmp}/titanium-image.XXXXXX")
  # apt-get reaches Debian's mirror through the host's network, as pip does for
  # the services' images.
  podman build --network host --build-arg "BASE=$TITANIUM_PYTHON_IMAGE" --file "$here/$2" \
    --tag "$1" "$3" >"$log" 2>&1 || { tail -n 30 "$log" >&2; rm -f "$log"; exit 1; }
  rm -f "$log"
  echo "images: $1 $(podman image inspect --format '{{ .Id }}' "$1" | cut -c1-12)"
}

# shellcheck source=../../../scripts/setup/versions.sh
source "$repo/scripts/setup/versions.sh"
loadgen=$(sed -n 's/^loadgen_image: *//p' "$repo/gitops/values/common.yml")
[[ $loadgen == *":${K6_VERSION#v}" ]] ||
  { echo "images: loadgen_image $loadgen is not k6 $K6_VERSION (versions.env)" >&2; exit 1; }

# local-path-provisioner: `go install` works (its module has no replace
# directives); kept by version in the cache, like the node's other binaries.
provisioner=${TITANIUM_CACHE:-$HOME/.cache/titanium}/local-path-provisioner/$LOCAL_PATH_PROVISIONER_VERSION
if [[ ! -x $provisioner/local-path-provisioner ]]; then
  echo "images: building local-path-provisioner $LOCAL_PATH_PROVISIONER_VERSION (once; cached in $provisioner)"
  GOFLAGS= GOTOOLCHAIN=local GOBIN=$provisioner go install -trimpath -ldflags "-s -w" \
    "github.com/rancher/local-path-provisioner@$LOCAL_PATH_PROVISIONER_VERSION"
fi

context=$(mktemp -d)
trap 'rm -rf "$context"' EXIT
cp "$(readlink -f "$repo/build/bin/k6")" "$provisioner/local-path-provisioner" "$context/"

declare -A built=(
  [postgres_image]=localhost/titanium-postgres:15
  [redis_image]=localhost/titanium-redis:7
  [loadgen_image]=localhost/titanium-k6:${K6_VERSION#v}
  [local_path_provisioner]=localhost/titanium-local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION
)
build "${built[postgres_image]}" postgres.Containerfile "$here"
build "${built[redis_image]}" redis.Containerfile "$here"
build "${built[loadgen_image]}" k6.Containerfile "$context"
build "${built[local_path_provisioner]}" local-path-provisioner.Containerfile "$context"
# What scripts/rehearsal.py imports: the overlay's key (gitops/values/common.yml)
# or the role, to the image built for it.
for key in "${!built[@]}"; do printf '%s\n%s\n' "$key" "${built[$key]}"; done |
  jq -Rn '[inputs] | [range(0; length; 2) as $i | {(.[$i]): .[$i + 1]}] | add' \
    >"$repo/build/rehearsal-images.json"
