# Platform phase (roles istio, monitoring, logging, argocd, gitserver, verify),
# the verify modules, and the operator's drills. ENV picks the inventory.
PLATFORM_TESTS := tests/render/test_roles_platform.py \
  tests/integration/test_module_prometheus_golden_signals.py \
  tests/unit/plugins/module_utils/test_argocd.py \
  tests/integration/test_platform_roles.py \
  tests/integration/test_platform_role_arguments.py \
  tests/integration/test_argocd_app_wait.py \
  tests/integration/test_drills.py

.PHONY: test-platform platform verify-platform drill-pod-failure drill-database-restart drill-error-scenario rotate-secrets
test-platform: ## Tests of the platform roles and verify modules (render, real Prometheus, simulated cluster)
	pytest $(PLATFORM_TESTS) $(PYTEST_ARGS)

platform: ## Run only the platform phase on inventories/$(ENV) (add ARGS='--check --diff' to preview)
	ansible-playbook playbooks/platform.yml -i inventories/$(ENV) $(ARGS)

verify-platform: ## Wait for Argo CD, smoke-test, read the Golden Signals, print the summary for $(ENV)
	ansible-playbook playbooks/verify.yml -i inventories/$(ENV) $(ARGS)

drill-pod-failure: ## Drill: kill a pod of SERVICE (default api-gateway) and time the recovery
	ansible-playbook playbooks/runbooks/pod-failure-drill.yml -i inventories/$(ENV) $(if $(SERVICE),-e service=$(SERVICE)) $(ARGS)

drill-database-restart: ## Drill: restart PostgreSQL and check the blog recovers by itself
	ansible-playbook playbooks/runbooks/database-restart-drill.yml -i inventories/$(ENV) $(ARGS)

drill-error-scenario: ## Drill: take SERVICE (default blog-service) away until HighErrorRate fires, then restore
	ansible-playbook playbooks/runbooks/error-scenario-drill.yml -i inventories/$(ENV) $(if $(SERVICE),-e service=$(SERVICE)) $(ARGS)

rotate-secrets: ## Write the vault's current secrets into the cluster and restart their readers
	ansible-playbook playbooks/runbooks/rotate-secrets.yml -i inventories/$(ENV) $(ARGS)
