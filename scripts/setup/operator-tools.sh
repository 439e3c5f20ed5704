#!/usr/bin/env bash
# The command-line tools site.yml runs on the controller besides Python: kubectl
# and helm, at the versions the tests run (scripts/setup/versions.sh), built from
# their Go modules alone: none of the simulated control plane is built. Cached
# outside the work tree, keyed by the pins, and linked into build/bin.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/cluster
# shellcheck source=versions.sh
source scripts/setup/versions.sh
# shellcheck source=go-pins.sh
source scripts/setup/go-pins.sh

command -v go >/dev/null || {
  echo "setup-operator: Go is needed to build kubectl and helm (the version in tools/go.mod); install it from https://go.dev/dl" >&2
  exit 1
}
# Never let a pin silently fetch another Go toolchain; fail instead.
export GOTOOLCHAIN=local

recipe=1
cache=${TITANIUM_CACHE:-$HOME/.cache/titanium}
key=$( (echo "$recipe"; pin_lines KUBERNETES_VERSION HELM_VERSION
  cat "$here"/go/kube/go.{mod,sum} scripts/setup/go-pins.sh) | sha256sum | cut -c1-16)
bin="$cache/operator/$key/bin"
if [[ ! -f $bin/../.complete ]]; then
  mkdir -p "$bin"
  start=$SECONDS
  echo "setup-operator: building kubectl $KUBERNETES_VERSION and helm $HELM_VERSION into $bin"
  # kubectl lives in k8s.io/kubernetes, whose replace directives stop `go
  # install`: the simulated cluster's wrapper module pins it, and building only
  # the kubectl package fetches only what kubectl imports.
  (cd "$here/go/kube" && GOFLAGS=-mod=readonly go build -trimpath -ldflags "$(kube_ldflags)" \
    -o "$bin/kubectl" k8s.io/kubernetes/cmd/kubectl)
  GOFLAGS= GOBIN="$bin" go install -trimpath -ldflags "-s -w $(helm_ldflags)" "$(helm_package)"
  touch "$bin/../.complete"
  echo "setup-operator: kubectl and helm built in $((SECONDS - start)) s"
fi
mkdir -p build/bin
for tool in kubectl helm; do
  ln -sfn "$bin/$tool" "build/bin/$tool"
done
