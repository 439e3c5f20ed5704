# The rehearsal: the whole of site.yml on this machine without k3s, against the
# simulated cluster, Gitea, Argo CD, the blog's services and Prometheus run as
# processes (scripts/rehearsal.py, inventories/rehearsal).
.PHONY: rehearsal rehearsal-down rehearsal-status
rehearsal: ## Start the rehearsal, run site.yml -i inventories/rehearsal, wait for Argo CD; report in build/rehearsal/report.json
	@python scripts/rehearsal.py up

rehearsal-down: ## Stop every process `make rehearsal` started
	@python scripts/rehearsal.py down

rehearsal-status: ## What the rehearsal runs
	@python scripts/rehearsal.py status
