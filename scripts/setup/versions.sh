# Sourced, not run: every pin the setup scripts build with, as shell variables.
# The test toolchain's own (etcd, kwok, helm, istioctl's snapshot, ...) come
# from tests/cluster/versions.env; the platform's from the versions role's
# defaults, the one place each release is pinned, under the names the scripts
# use. titanium_tools/versions.py reads both the same way (a test compares).
titanium_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
platform_versions_file=$titanium_repo/roles/versions/defaults/main.yml
# shellcheck source=/dev/null
source "$titanium_repo/tests/cluster/versions.env"

platform_version() { # a variable of the versions role
  local value
  value=$(sed -nE "s/^$1: *\"?([^\" #]+)\"?( .*)?\$/\\1/p" "$platform_versions_file")
  [[ -n $value ]] || { echo "no $1 in $platform_versions_file" >&2; return 1; }
  echo "$value"
}

K3S_VERSION=$(platform_version k3s_version)
# k3s names its release after the Kubernetes one it ships: v1.36.3+k3s1.
KUBERNETES_VERSION=${K3S_VERSION%%+*}
ISTIO_VERSION=$(platform_version istio_version)
ARGOCD_VERSION=$(platform_version argocd_version)
ARGOCD_CHART_VERSION=$(platform_version argocd_chart_version)
PROMETHEUS_OPERATOR_VERSION=$(platform_version monitoring_prometheus_operator_version)
ALERTMANAGER_VERSION=$(platform_version monitoring_alertmanager_version)
GITEA_VERSION=$(platform_version gitserver_gitea_version)

# NAME=value for each named pin: what the build caches are keyed by.
pin_lines() {
  local name
  for name; do echo "$name=${!name}"; done
}
