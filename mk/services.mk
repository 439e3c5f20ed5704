# The blog services (services/): install them into the venv, run them locally,
# benchmark them. See services/README.md.
SERVICES := common auth-service user-service api-gateway blog-service bookinfo
SERVICES_STAMP := $(VENV)/.titanium-services

SETUP_TARGETS += setup-services

.PHONY: setup-services services-up services-down bench-services
# Editable, without dependencies: those come hash-pinned from python.lock. A
# re-synced venv (new .titanium-lock) drops them, so the stamp depends on it.
setup-services: setup-python
	@want="$$(cat $(VENV)/.titanium-lock) $(wildcard $(addsuffix /pyproject.toml,$(addprefix services/,$(SERVICES))))"; \
	if [[ -f $(SERVICES_STAMP) && "$$(cat $(SERVICES_STAMP))" == "$$want" ]]; then exit 0; fi; \
	echo "setup: installing services into $(VENV)"; \
	for dir in $(addprefix services/,$(SERVICES)); do \
	  [[ -f $$dir/pyproject.toml ]] || continue; \
	  uv pip install -q --no-deps --python $(VENV)/bin/python -e $$dir; \
	done; \
	echo "$$want" >$(SERVICES_STAMP)

services-up: setup-services ## Start PostgreSQL, Redis, migrations and the four services on 127.0.0.1 (blog at :8000/blog/)
	@python scripts/services/devstack.py up

services-down: ## Stop what services-up started
	@python scripts/services/devstack.py down

bench-services: setup-services ## Load-test the gateway started by services-up; writes build/bench/services.json
	@python scripts/services/bench.py --out build/bench/services.json

.PHONY: bench-gateway-clients
bench-gateway-clients: setup-services ## The gateway's candidate HTTP clients side by side; build/bench/gateway-clients.json
	@python scripts/services/bench/clients.py --out build/bench/gateway-clients.json

.PHONY: lock-service-images
lock-service-images: setup-python ## Re-derive the api-gateway/auth/user/bookinfo image locks from requirements/python.lock
	@for svc in api-gateway auth-service user-service bookinfo; do \
	  uv pip compile -q --generate-hashes --python-version 3.11 \
	    services/$$svc/requirements.in -c requirements/python.lock \
	    -o services/$$svc/requirements.lock; \
	done
