# The observability tier (tests/integration/observability): the blog's services
# scraped by a real Prometheus with the rendered alert rules, alerts routed by a
# real Alertmanager, traces read back from a real Jaeger. Part of the
# integration tier; this target runs it alone.
SETUP_TARGETS += setup-alertmanager setup-jaeger

.PHONY: setup-alertmanager setup-jaeger
setup-alertmanager:
	@scripts/setup/alertmanager.sh
setup-jaeger:
	@scripts/setup/jaeger.sh

.PHONY: test-observability
test-observability: setup-apt setup-services setup-alertmanager setup-jaeger ## Only the observability tier: dashboards return data, alerts fire when blog-service stops, one request is one trace
	@pytest tests/integration/observability $(PYTEST_ARGS)

.PHONY: alert-inbox
alert-inbox: setup-python ## The local environment's alert receiver: prints each alert Alertmanager delivers, shows the latest on :9095
	@python -m titanium_tools.alert_inbox
