#!/usr/bin/env bash
# Builds Jaeger v2 (the trace store: one binary holding the OTLP receiver, the
# in-memory store and the query API) from its Go module, at the release the
# tracing role deploys, into a cache outside the work tree keyed by the
# pin and the wrapper module (tests/cluster/go/jaeger, which repeats Jaeger's
# replace line: `go install` refuses a module that has one), and links it into
# build/bin as `jaeger`. The observability tier reads traces back from it.
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=versions.sh
source scripts/setup/versions.sh
module=tests/cluster/go/jaeger

# The one pin: tracing_jaeger_version in the versions role (the tracing role's
# chart's appVersion, the image it deploys). The Go module proxy serves the
# repository under its v1 tags only; the wrapper's require line names the v1 tag
# whose tree holds that v2 release, and Jaeger's CHANGELOG pairs the two
# ("v1.76.0 / v2.13.0").
version=$(platform_version tracing_jaeger_version)
module_version=$(sed -nE "s/^[[:space:]]*(require )?github\.com\/jaegertracing\/jaeger (v1\.[0-9.]+)( .*)?\$/\2/p" "$module/go.mod")
[[ -n $module_version ]] || { echo "setup-jaeger: $module/go.mod requires no github.com/jaegertracing/jaeger v1 tag" >&2; exit 1; }

# Bump when the way the binary is built changes (tags, ldflags).
recipe=1
cache=${TITANIUM_CACHE:-$HOME/.cache/titanium}
key=$( (echo "$recipe $version"; cat "$module"/go.{mod,sum}) | sha256sum | cut -c1-16)
root="$cache/jaeger/$key"

# The release builds with the machine's Go; never fetch another silently.
export GOTOOLCHAIN=local GOFLAGS=-mod=readonly

if [[ ! -f $root/.complete ]]; then
  changelog="$(cd "$module" && go mod download github.com/jaegertracing/jaeger && go list -m -f '{{.Dir}}' github.com/jaegertracing/jaeger)/CHANGELOG.md"
  grep -q "^$module_version / v$version " "$changelog" || {
    echo "setup-jaeger: Jaeger $module_version is not the module of release v$version ($changelog pairs: $(grep -m1 -oE "^$module_version / v[0-9.]+" "$changelog" || echo none)); fix tracing_jaeger_version ($platform_versions_file) or $module/go.mod" >&2
    exit 1
  }
  mkdir -p "$root/bin"
  start=$SECONDS
  echo "setup-jaeger: building Jaeger v$version (a few minutes on a cold cache)"
  # What `jaeger version` and its build_info metric report.
  ld="-s -w -X github.com/jaegertracing/jaeger/internal/version.latestVersion=v$version"
  (cd "$module" && CGO_ENABLED=0 go build -trimpath -ldflags "$ld" \
    -o "$root/bin/jaeger" github.com/jaegertracing/jaeger/cmd/jaeger)
  echo "jaeger $((SECONDS - start))s" >>"$root/build-times.txt"
  touch "$root/.complete"
  echo "setup-jaeger: cold build of Jaeger v$version done in $((SECONDS - start)) s ($root)"
fi
mkdir -p build/bin
ln -sfn "$root/bin/jaeger" build/bin/jaeger
