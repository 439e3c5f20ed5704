# Sourced, not run: how the pinned kubectl and helm are built, shared by the
# developer's cluster build (cluster.sh) and the operator's (operator-tools.sh),
# so both report the same versions. Needs scripts/setup/versions.sh sourced.

# Without these, /version and `kubectl version` report a non-semver string that
# helm and kwok reject.
kube_ldflags() {
  local minor=${KUBERNETES_VERSION#v1.}
  minor=${minor%%.*}
  local ld="-s -w" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ld+=" -X $pkg.gitTreeState=clean"
  done
  echo "$ld"
}

helm_package() { echo "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"; }
helm_ldflags() {
  echo "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
}
