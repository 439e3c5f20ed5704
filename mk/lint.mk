# Lint tier: zero findings is the only passing result.
.PHONY: lint lint-yaml lint-ansible lint-python lint-syntax lint-actions
lint: lint-yaml lint-python lint-syntax lint-ansible lint-actions sanity ## Lint everything (yamllint, ruff, syntax-check, ansible-lint, actionlint, ansible-test sanity)

lint-yaml:
	yamllint --strict .

lint-python:
	ruff check .
	ruff format --check .

lint-syntax:
	ansible-playbook --syntax-check site.yml
	@for pb in playbooks/reset.yml playbooks/runbooks/*.yml; do \
	  [[ -f $$pb ]] || continue; ansible-playbook --syntax-check "$$pb" >/dev/null; done

lint-ansible:
	ansible-lint --strict

lint-actions:
	actionlint
