# Argo CD from its Go module (the release the argocd role's chart deploys) and
# the kustomize its repo-server runs; the tests run them as local processes
# against the simulated cluster (tests/support/argocd.py).
SETUP_TARGETS += setup-argocd

.PHONY: setup-argocd
setup-argocd:
	@scripts/setup/argocd.sh
