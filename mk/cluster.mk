# Simulated cluster (tests/cluster): a real control plane built from the
# Kubernetes Go modules, kwok for the nodes, plus helm, istioctl and the CRDs.
SETUP_TARGETS += setup-cluster
SIM := python -m tests.cluster.sim

.PHONY: setup-cluster cluster-sim-up cluster-sim-down cluster-sim-status test-cluster
# gen-crds.sh splits istioctl's output with the virtualenv's PyYAML.
setup-cluster: setup-python
	@PYTHON=$(CURDIR)/$(VENV)/bin/python scripts/setup/cluster.sh

cluster-sim-up: setup-cluster ## Start the simulated cluster (3 kwok nodes); KUBECONFIG=build/sim/kubeconfig
	@$(SIM) up

cluster-sim-down: ## Stop the simulated cluster started by cluster-sim-up
	@$(SIM) down

cluster-sim-status: ## Show the simulated cluster's processes and Ready nodes
	@$(SIM) status

test-cluster: setup-cluster ## Only the simulated-cluster integration tests
	@pytest tests/integration/test_cluster_*.py $(PYTEST_ARGS)
