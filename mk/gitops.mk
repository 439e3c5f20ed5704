# GitOps: render the repository Argo CD reads, and prove it valid.
.PHONY: render validate bench-gitops
GITOPS_RENDER := python -m titanium_tools.render
GITOPS_VALIDATE := python -m titanium_tools.validate

render: ## Render the GitOps repository for ENV (local|staging|production) into build/gitops/$(ENV)
	$(GITOPS_RENDER) $(ENV)

validate: ## Render every environment and validate it (schemas, kustomize, promtool, checkov, secret scan)
	$(GITOPS_VALIDATE)

bench-gitops: ## Time render+validate of all three environments (target: under 10 s)
	@for run in 1 2 3; do $(GITOPS_VALIDATE) | tail -1; done
