#!/usr/bin/env bash
# Builds the rehearsal real node's data images from Debian 12's packages, on a
# Debian base made by scripts/molecule/debian-image.sh (nothing pulled):
#   localhost/titanium-postgres:15   (postgresql; PostgreSQL 15)
#   localhost/titanium-redis:7       (redis-server; Redis 7.0)
#   localhost/titanium-k6:rehearsal  (build/bin/k6, K6_VERSION: the loadgen image's tag)
# A second run rebuilds nothing podman has cached.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../../.." && pwd)
export CONTAINERS_CONF=${CONTAINERS_CONF:-$repo/molecule/k3s/containers.conf}

build() { # image, Containerfile, context, packages...
  local image=$1 file=$2 context=$3 base=${1%:*}-base:${1##*:}
  shift 3
  "$repo/scripts/molecule/debian-image.sh" "$base" "$@"
  podman build --quiet --build-arg "BASE=$base" --file "$here/$file" --tag "$image" "$context" >/dev/null
  echo "images: $image $(podman image inspect --format '{{ .Id }}' "$image" | cut -c1-12)"
}

# shellcheck source=/dev/null
source "$repo/tests/cluster/versions.env"
loadgen=$(sed -n 's/^loadgen_image: *//p' "$repo/gitops/values/common.yml")
[[ $loadgen == *":${K6_VERSION#v}" ]] ||
  { echo "images: loadgen_image $loadgen is not k6 $K6_VERSION (versions.env)" >&2; exit 1; }
k6_context=$(mktemp -d)
trap 'rm -rf "$k6_context"' EXIT
cp "$(readlink -f "$repo/build/bin/k6")" "$k6_context/k6"

build localhost/titanium-postgres:15 postgres.Containerfile "$here" postgresql
build localhost/titanium-redis:7 redis.Containerfile "$here" redis-server
build localhost/titanium-k6:rehearsal k6.Containerfile "$k6_context" ca-certificates
