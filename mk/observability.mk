# The observability tier (tests/integration/observability): the blog's services
# scraped by a real Prometheus with the rendered alert rules, alerts routed by a
# real Alertmanager. Part of the integration tier; this target runs it alone.
SETUP_TARGETS += setup-alertmanager

.PHONY: setup-alertmanager
setup-alertmanager:
	@scripts/setup/alertmanager.sh

.PHONY: test-observability
test-observability: setup-apt setup-services setup-alertmanager ## Only the observability tier: dashboards return data, alerts fire when blog-service stops
	@pytest tests/integration/observability $(PYTEST_ARGS)

.PHONY: alert-inbox
alert-inbox: setup-python ## The local environment's alert receiver: prints each alert Alertmanager delivers, shows the latest on :9095
	@python -m titanium_tools.alert_inbox
