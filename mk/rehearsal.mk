# The rehearsal: the whole of site.yml on this machine without k3s, against the
# simulated cluster with one real node (the blog's pods run there, from the
# images built here), Gitea, Argo CD and Prometheus run as processes
# (scripts/rehearsal.py, inventories/rehearsal).
.PHONY: rehearsal rehearsal-down rehearsal-status rehearsal-images
rehearsal: images rehearsal-images ## Start the rehearsal, run site.yml -i inventories/rehearsal, wait for Argo CD, run the drills; report in build/rehearsal/report.json (REHEARSAL_ARGS=--polling adds the polling-only push)
	@python scripts/rehearsal.py up $(REHEARSAL_ARGS)

# What the real node runs besides the services' images, on their local base:
# PostgreSQL and Redis from Debian's packages, k6 and the local-path provisioner
# (tests/cluster/images); cached by podman.
rehearsal-images: setup-apt
	@tests/cluster/images/build.sh

rehearsal-down: ## Stop every process `make rehearsal` started
	@python scripts/rehearsal.py down

rehearsal-status: ## What the rehearsal runs
	@python scripts/rehearsal.py status
