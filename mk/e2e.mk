# The observability tier (tests/e2e): the blog's services scraped by a real
# Prometheus with the rendered alert rules, alerts routed by a real Alertmanager.
.PHONY: e2e
e2e: setup-apt setup-services ## Only the observability tier: dashboards return data, alerts fire when blog-service stops
	@pytest tests/e2e $(PYTEST_ARGS)
