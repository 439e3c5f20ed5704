# Gitea built from its Go module at the gitserver role's pin, run as a process
# by tests/support/gitea.py (the rehearsal's Git server).
SETUP_TARGETS += setup-gitea

.PHONY: setup-gitea test-gitea
setup-gitea:
	@scripts/setup/gitea.sh

test-gitea: setup-gitea ## Only the tests against the real Gitea process
	@pytest tests/integration/test_gitea_real.py $(PYTEST_ARGS)
