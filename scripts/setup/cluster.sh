#!/usr/bin/env bash
# Builds the simulated cluster's binaries (etcd, kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, kwok, helm, istioctl,
# controller-gen), its CRDs, and the real node's binaries (kubelet, kube-proxy and
# the sandbox's pause from go/node at the same Kubernetes release, CoreDNS, and
# k6 for the load generator's image) into a cache outside the work tree, keyed
# by every pin, then links them into build/bin and build/crds. A fresh clone on
# the same machine therefore builds nothing. Each piece is skipped once present,
# so an interrupted cold build resumes where it stopped.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=tests/cluster
# shellcheck source=versions.sh
source scripts/setup/versions.sh
# shellcheck source=go-pins.sh
source scripts/setup/go-pins.sh

# Bump when the way the binaries are built changes (flags, ldflags): it is part
# of the cache key, as are the pins. The CRDs have their own key, so changing
# how they are generated rebuilds no binary.
recipe=1
cache=${TITANIUM_CACHE:-$HOME/.cache/titanium}
key=$( (echo "$recipe"; pin_lines KUBERNETES_VERSION ETCD_VERSION KWOK_VERSION HELM_VERSION \
  ISTIO_MODULE_VERSION ISTIO_RELEASE CONTROLLER_TOOLS_VERSION
  cat "$here"/go/{kube,etcd,istioctl}/go.{mod,sum}) | sha256sum | cut -c1-16)
root="$cache/cluster/$key"
bin="$root/bin"
crds_key=$( (pin_lines ARGOCD_VERSION ARGOCD_CHART_VERSION ARGOCD_GIT_COMMIT PROMETHEUS_OPERATOR_VERSION ISTIO_VERSION
  cat "$here/gen-crds.sh" "$here"/go/crds-*/go.{mod,sum}) | sha256sum | cut -c1-16)
crds="$root/crds-$crds_key"
# The real node's binaries have a key of their own, so adding them (or changing
# how they are built) rebuilds nothing of the control plane.
node_recipe=1
node_key=$( (echo "$node_recipe"; pin_lines KUBERNETES_VERSION COREDNS_VERSION K6_VERSION
  cat "$here"/go/node/go.{mod,sum} "$here"/go/node/pause/*.go) | sha256sum | cut -c1-16)
node_bin="$cache/node/$node_key/bin"

# Never let a pin silently fetch another Go toolchain; fail instead.
export GOTOOLCHAIN=local

require_pin() { # module dir, module path, expected version
  grep -qE "^(require)?[[:space:]]*$2 $3( //.*)?\$" "$here/go/$1/go.mod" ||
    { echo "setup-cluster: $here/go/$1/go.mod must require $2 $3 (scripts/setup/versions.sh)" >&2; exit 1; }
}
require_pin kube k8s.io/kubernetes "$KUBERNETES_VERSION"
require_pin node k8s.io/kubernetes "$KUBERNETES_VERSION"
require_pin etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION"
require_pin istioctl istio.io/istio "$ISTIO_MODULE_VERSION"
require_pin crds-argocd github.com/argoproj/argo-cd/v3 "$ARGOCD_VERSION"
require_pin crds-prometheus-operator \
  github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring "$PROMETHEUS_OPERATOR_VERSION"

timed() { # label, command...
  local label=$1 start=$SECONDS
  shift
  echo "setup-cluster: building $label"
  "$@"
  echo "$label $((SECONDS - start))s" >>"$root/build-times.txt"
  echo "setup-cluster: $label built in $((SECONDS - start)) s"
}

build_kube() {
  (cd "$here/go/kube" && GOFLAGS=-mod=readonly go build -trimpath -ldflags "$(kube_ldflags)" \
    -o "$bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
}

# The real node's: kubelet and kube-proxy with the control plane's version
# ldflags, and pause built static, so the sandbox image holds nothing but it.
build_node() {
  (cd "$here/go/node" && GOFLAGS=-mod=readonly go build -trimpath -ldflags "$(kube_ldflags)" \
    -o "$node_bin/" k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy &&
    CGO_ENABLED=0 GOFLAGS=-mod=readonly go build -trimpath -ldflags "-s -w" \
      -o "$node_bin/pause" ./pause) &&
    bin=$node_bin go_install "github.com/coredns/coredns@$COREDNS_VERSION" "" &&
    bin=$node_bin go_install "go.k6.io/k6@$K6_VERSION" ""
}

build_etcd() {
  (cd "$here/go/etcd" && GOFLAGS=-mod=readonly go build -trimpath \
    -ldflags "-s -w -X go.etcd.io/etcd/api/v3/version.GitSHA=$ETCD_VERSION" \
    -o "$bin/etcd" go.etcd.io/etcd/server/v3)
}

go_install() { # package@version, ldflags
  GOFLAGS= GOBIN="$bin" go install -trimpath -ldflags "-s -w $2" "$1"
}

build_tools() {
  [[ -x $bin/kwok ]] || timed kwok go_install "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION" \
    "-X sigs.k8s.io/kwok/pkg/consts.Version=$KWOK_VERSION"
  [[ -x $bin/helm ]] || timed helm go_install "$(helm_package)" "$(helm_ldflags)"
  [[ -x $bin/controller-gen ]] || timed controller-gen go_install \
    "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_TOOLS_VERSION" ""
  [[ -x $bin/istioctl ]] || timed istioctl build_istioctl
}

# Istio's dependencies include pseudo-versions the checksum database does not
# know, so `go install istio@version` cannot verify them; the wrapper module's
# committed go.sum pins their hashes instead (made once with GONOSUMDB).
build_istioctl() {
  local ld="-s -w -X istio.io/istio/pkg/version.buildVersion=$ISTIO_RELEASE"
  ld+=" -X istio.io/istio/pkg/version.buildStatus=Clean"
  (cd "$here/go/istioctl" && GOFLAGS=-mod=readonly go build -trimpath -ldflags "$ld" \
    -o "$bin/istioctl" istio.io/istio/istioctl/cmd/istioctl)
}

if [[ ! -f $root/.complete ]]; then
  mkdir -p "$bin"
  cold=$SECONDS
  [[ -x $bin/etcd ]] || timed etcd build_etcd
  [[ -x $bin/kube-apiserver && -x $bin/kubectl ]] || timed kubernetes build_kube
  build_tools
  echo "binaries $((SECONDS - cold))s" >>"$root/build-times.txt"
  touch "$root/.complete"
  echo "setup-cluster: cold build of the binaries done in $((SECONDS - cold)) s ($root)"
fi
if [[ ! -f $crds/.complete ]]; then
  rm -rf "$crds"
  timed crds "$here/gen-crds.sh" "$bin" "$crds"
  touch "$crds/.complete"
fi

if [[ ! -f $node_bin/../.complete ]]; then
  mkdir -p "$node_bin"
  (root=$node_bin/.. timed "kubelet, kube-proxy, pause, coredns, k6" build_node)
  touch "$node_bin/../.complete"
fi

mkdir -p build/bin
for tool in "$bin"/* "$node_bin"/*; do
  ln -sfn "$tool" "build/bin/$(basename "$tool")"
done
ln -sfn "$crds" build/crds
