#!/usr/bin/env bash
# Builds Gitea from its Go module (tests/cluster/go/gitea, a wrapper that repeats
# Gitea's replace lines) at the version the gitserver role deploys, into a cache
# outside the work tree keyed by the pins, and links it into build/bin. The
# module's options/ and templates/ (locales, label sets, mail templates: read from
# disk since there is no bindata tag) are linked as build/share/gitea.
set -euo pipefail
cd "$(dirname "$0")/../.."
module=tests/cluster/go/gitea
# shellcheck source=versions.sh
source scripts/setup/versions.sh
# The one pin: gitserver_gitea_version (the image tag the chart deploys).
version=$GITEA_VERSION
defaults=$platform_versions_file
grep -qE "^[[:space:]]*code\.gitea\.io/gitea v$version( //.*)?\$" "$module/go.mod" || {
  echo "setup-gitea: $module/go.mod must require code.gitea.io/gitea v$version ($defaults)" >&2
  exit 1
}

# Bump when the way the binary is built changes (tags, ldflags).
recipe=1
tags="sqlite sqlite_unlock_notify"
cache=${TITANIUM_CACHE:-$HOME/.cache/titanium}
key=$( (echo "$recipe $tags $version"; cat "$module"/go.{mod,sum}) | sha256sum | cut -c1-16)
root="$cache/gitea/$key"

export GOTOOLCHAIN=local GOFLAGS=-mod=readonly

if [[ ! -f $root/.complete ]]; then
  mkdir -p "$root/bin"
  start=$SECONDS
  echo "setup-gitea: building Gitea $version (a few minutes on a cold cache)"
  (cd "$module" && go build -trimpath -tags "$tags" \
    -ldflags "-s -w -X 'main.Version=$version' -X 'main.Tags=$tags'" \
    -o "$root/bin/gitea" code.gitea.io/gitea)
  echo "gitea $((SECONDS - start))s" >>"$root/build-times.txt"
  touch "$root/.complete"
  echo "setup-gitea: cold build of Gitea $version done in $((SECONDS - start)) s ($root)"
fi

# A warm cache key with an emptied module cache still needs the module's files.
static=$(cd "$module" && go mod download code.gitea.io/gitea && go list -m -f '{{.Dir}}' code.gitea.io/gitea)
[[ -d $static/options/locale ]] || { echo "setup-gitea: no options/locale in $static" >&2; exit 1; }
mkdir -p build/bin build/share
ln -sfn "$root/bin/gitea" build/bin/gitea
ln -sfn "$static" build/share/gitea
