# The test tiers (README "Tests"), one target each; `make test` runs them all.
# test-fast is the loop before every commit: lint of the changed files and the
# unit tier (scripts/test-fast.sh says what "changed" means), under a minute.
.PHONY: test-fast test-unit test-render test-integration test-services test-observability

test-fast: ## Before every commit: ruff/yamllint/ansible-lint on changed files, then the unit tier; prints its duration
	@scripts/test-fast.sh

test-unit: ## Unit tier: plugin, filter and template logic in this process; no process, no server (seconds)
	@pytest tests/unit $(PYTEST_ARGS)

test-render: ## Render tier: every environment rendered and validated (schemas, kustomize, promtool)
	@pytest tests/render $(PYTEST_ARGS)

test-integration: setup ## Integration tier: ansible-playbook runs, the simulated cluster, Argo CD, Gitea, Prometheus, containers
	@pytest tests/integration $(PYTEST_ARGS)

test-services: setup-services ## Services tier: the blog's services on real PostgreSQL and Redis
	@pytest services $(PYTEST_ARGS)
