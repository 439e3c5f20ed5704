# The observability tier (tests/integration/observability): the blog's services
# scraped by a real Prometheus with the rendered alert rules, alerts routed by a
# real Alertmanager. Part of the integration tier; this target runs it alone.
.PHONY: test-observability
test-observability: setup-apt setup-services ## Only the observability tier: dashboards return data, alerts fire when blog-service stops
	@pytest tests/integration/observability $(PYTEST_ARGS)
