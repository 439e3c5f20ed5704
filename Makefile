# Titanium — the operator's and developer's entry points. `make help` lists them.
# Each area adds its own targets in mk/<area>.mk; this file holds what all share.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ENV ?= local
VENV := .venv
CHECKOV_VENV := .venv-checkov
export TITANIUM_CACHE ?= $(HOME)/.cache/titanium
export PATH := $(CURDIR)/build/bin:$(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg

# Areas append to these: setup steps and the pytest paths `make test` runs.
# A developer's setup is a superset of the operator's.
SETUP_TARGETS := setup-operator setup-apt setup-sanity setup-checkov setup-node setup-go-tools

include $(sort $(wildcard mk/*.mk))

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z0-9_.-]+:.*## ' $(MAKEFILE_LIST) | sort | \
	  awk -F':.*## ' '{printf "  \033[1m%-22s\033[0m %s\n", $$1, $$2}'

.PHONY: setup setup-operator setup-apt setup-apt-operator setup-python setup-collection setup-operator-tools setup-sanity setup-checkov setup-node setup-go-tools
setup: ## Install everything a developer needs to run every test (idempotent; second run is quick)
	@start=$$(date +%s); \
	$(MAKE) $(SETUP_TARGETS); \
	echo "setup: ready in $$(( $$(date +%s) - start )) s"

# What site.yml needs on the controller, nothing more: no database, no
# simulated cluster, no linters (README: "Two setups").
setup-operator: setup-apt-operator setup-python setup-collection setup-operator-tools setup-local-vault ## Install only what `make up` needs: Python with Ansible, kubectl, helm, git
	@echo "setup-operator: ready"

setup-apt-operator:
	@scripts/setup/apt.sh requirements/apt-operator.txt

setup-apt: setup-apt-operator
	@scripts/setup/apt.sh requirements/apt.txt

setup-python: setup-apt-operator
	@scripts/setup/python.sh $(VENV) requirements/python.lock

setup-collection:
	@scripts/setup/collection.sh

setup-operator-tools:
	@scripts/setup/operator-tools.sh

setup-sanity: setup-python
	@scripts/setup/sanity.sh $(VENV)/bin/python

setup-checkov: setup-apt
	@scripts/setup/python.sh $(CHECKOV_VENV) requirements/checkov.lock

setup-node:
	@scripts/setup/node.sh

setup-go-tools:
	@scripts/setup/go-tools.sh

.PHONY: lock
lock: setup-python ## Re-resolve the pinned Python packages after editing requirements/*.in
	uv pip compile -q --generate-hashes --python-version 3.11 requirements/python.in -o requirements/python.lock
	uv pip compile -q --generate-hashes --python-version 3.11 requirements/checkov.in -o requirements/checkov.lock

.PHONY: up
up: setup-operator ## Run the main job: ansible-playbook site.yml on inventories/$(ENV) (ENV=local|staging|production; UP_ARGS='--check --diff' etc.)
	@[[ -d inventories/$(ENV) ]] || { echo "ENV=$(ENV) has no inventory; choose one of: $$(ls inventories | tr '\n' ' ')" >&2; exit 2; }
	ansible-playbook site.yml -i inventories/$(ENV) $(UP_ARGS)

.PHONY: test
test: setup ## THE test command: setup, lint, then every test tier
	@$(MAKE) lint
	@$(MAKE) pytest

.PHONY: pytest
# Two workers: most tests wait on processes they started (a cluster, Argo CD, a
# browser), so on two cores a second worker takes a third or more off the run.
# PYTEST_WORKERS=0 runs in one process. tests/support/plugin.py keeps each
# module on one worker.
PYTEST_WORKERS ?= 2

pytest: ## Run every pytest tier (PYTEST_ARGS to narrow it, PYTEST_WORKERS=0 for one process)
	@set +e; pytest -n $(PYTEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS); rc=$$?; \
	if [[ $$rc -eq 5 ]]; then echo "pytest collected no test: that is a failure here" >&2; fi; \
	exit $$rc

.PHONY: clean
clean: ## Remove build output (keeps the virtualenvs and the tool cache)
	rm -rf build
