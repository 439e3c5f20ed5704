#!/usr/bin/env bash
# Builds Argo CD (one multi-call binary, linked as argocd-server,
# argocd-repo-server and argocd-application-controller) from the wrapper module
# tests/cluster/go/argocd, and the kustomize its repo-server runs, into a cache
# outside the work tree keyed by the pins, then links them into build/bin. A
# fresh clone on the same machine builds nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/cluster
# shellcheck source=versions.sh
source scripts/setup/versions.sh

# Bump when the way the binaries are built changes (flags, ldflags).
recipe=1
cache=${TITANIUM_CACHE:-$HOME/.cache/titanium}
key=$( (echo "$recipe"; pin_lines ARGOCD_VERSION ARGOCD_CHART_VERSION ARGOCD_GIT_COMMIT KUSTOMIZE_VERSION
  cat "$here"/go/argocd/go.{mod,sum}) | sha256sum | cut -c1-16)
root="$cache/argocd/$key"
bin="$root/bin"
components=(argocd-server argocd-repo-server argocd-application-controller)

# Argo CD's release builds with the machine's Go; never fetch another silently.
export GOTOOLCHAIN=local

grep -qE "^(require)?[[:space:]]*github.com/argoproj/argo-cd/v3 $ARGOCD_VERSION( //.*)?\$" "$here/go/argocd/go.mod" ||
  { echo "setup-argocd: $here/go/argocd/go.mod must require github.com/argoproj/argo-cd/v3 $ARGOCD_VERSION (argocd_version, $platform_versions_file)" >&2; exit 1; }

build_argocd() {
  local pkg=github.com/argoproj/argo-cd/v3/common built client_go ld
  # What `argocd-server version` reports: the release's tag, commit and time
  # (the module's publication time, as the proxy records it).
  built=$(cd "$here/go/argocd" && go list -m -f '{{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' github.com/argoproj/argo-cd/v3)
  client_go=$(cd "$here/go/argocd" && go list -m -f '{{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' k8s.io/client-go)
  ld="-s -w -X $pkg.version=${ARGOCD_VERSION#v} -X $pkg.gitTag=$ARGOCD_VERSION"
  ld+=" -X $pkg.gitCommit=$ARGOCD_GIT_COMMIT -X $pkg.gitTreeState=clean"
  ld+=" -X $pkg.buildDate=$built -X $pkg.kubectlVersion=$client_go"
  (cd "$here/go/argocd" && CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags "$ld" \
    -o "$bin/argocd" github.com/argoproj/argo-cd/v3/cmd)
  local name
  for name in "${components[@]}"; do ln -sfn argocd "$bin/$name"; done
}

build_kustomize() {
  GOFLAGS= GOBIN="$bin" go install -trimpath -ldflags "-s -w" \
    "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
}

timed() { # label, command...
  local label=$1 start=$SECONDS
  shift
  echo "setup-argocd: building $label"
  "$@"
  echo "$label $((SECONDS - start))s" >>"$root/build-times.txt"
  echo "setup-argocd: $label built in $((SECONDS - start)) s"
}

if [[ ! -f $root/.complete ]]; then
  mkdir -p "$bin"
  cold=$SECONDS
  [[ -x $bin/argocd ]] || timed "argocd $ARGOCD_VERSION" build_argocd
  [[ -x $bin/kustomize ]] || timed "kustomize $KUSTOMIZE_VERSION" build_kustomize
  echo "binaries $((SECONDS - cold))s" >>"$root/build-times.txt"
  touch "$root/.complete"
  echo "setup-argocd: cold build done in $((SECONDS - cold)) s ($root)"
fi

mkdir -p build/bin
for tool in argocd "${components[@]}" kustomize; do
  ln -sfn "$bin/$tool" "build/bin/$tool"
done
