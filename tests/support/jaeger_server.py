"""A real Jaeger v2, the release the tracing role deploys (built by
scripts/setup/jaeger.sh), running the very configuration the role gives its
chart (the `userconfig` of the local inventory's values), with each listener
moved to a free 127.0.0.1 port. Spans go in over OTLP/HTTP and are read back
through the query API, as Grafana and Kiali read them.

    with running_jaeger(workdir) as jaeger:
        env = jaeger.otel_env("api-gateway")   # what a service exports with
        trace = jaeger.wait_for_trace(trace_id, lambda t: len(t["spans"]) >= 5)
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.support.prometheus_server import ready_process
from tests.support.role_templates import values
from tests.support.servers import free_port

JAEGER = Path(__file__).resolve().parents[2] / "build/bin/jaeger"


@dataclass
class Jaeger:
    otlp_http: str  # the OTLP/HTTP receiver's base URL
    query: str  # the query API's base URL
    log: Path

    def otel_env(self) -> dict[str, str]:
        """The OTEL_* variables a service exports to this Jaeger with; the batch
        processor sends within a quarter of a second instead of five."""
        return {"OTEL_EXPORTER_OTLP_ENDPOINT": self.otlp_http, "OTEL_BSP_SCHEDULE_DELAY": "250"}

    def trace(self, trace_id: str) -> dict | None:
        """The trace as the query API returns it (spans, processes), or None."""
        try:
            with urllib.request.urlopen(f"{self.query}/api/traces/{trace_id}", timeout=5) as answer:  # noqa: S310  http only
                (trace,) = json.load(answer)["data"]
                return trace
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise

    def wait_for_trace(
        self, trace_id: str, complete: Callable[[dict], bool], timeout: float = 20
    ) -> dict:
        """The trace once `complete` holds for it: spans arrive in batches."""
        deadline = time.monotonic() + timeout
        while True:
            trace = self.trace(trace_id)
            if trace is not None and complete(trace):
                return trace
            if time.monotonic() > deadline:
                held = [] if trace is None else sorted(s["operationName"] for s in trace["spans"])
                raise TimeoutError(f"trace {trace_id} incomplete after {timeout} s; holds {held}")
            time.sleep(0.25)


def deployed_config(ports: dict[str, int]) -> dict:
    """The role's configuration for the local environment, each listener on 127.0.0.1."""
    config = yaml.safe_load(values("tracing", "jaeger-values.yaml.j2", "local")["userconfig"])
    extensions, receivers = config["extensions"], config["receivers"]["otlp"]["protocols"]
    extensions["healthcheckv2"]["http"]["endpoint"] = f"127.0.0.1:{ports['health']}"
    extensions["jaeger_query"]["http"]["endpoint"] = f"127.0.0.1:{ports['query']}"
    extensions["jaeger_query"]["grpc"] = {"endpoint": f"127.0.0.1:{ports['query_grpc']}"}
    receivers["grpc"]["endpoint"] = f"127.0.0.1:{ports['otlp_grpc']}"
    receivers["http"]["endpoint"] = f"127.0.0.1:{ports['otlp_http']}"
    prometheus = config["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]
    prometheus["prometheus"].update(host="127.0.0.1", port=ports["metrics"])
    return config


@contextmanager
def running_jaeger(workdir: Path) -> Iterator[Jaeger]:
    if not JAEGER.is_file():
        raise RuntimeError(f"{JAEGER} is missing: run `make setup` (scripts/setup/jaeger.sh)")
    ports = {
        name: free_port()
        for name in ("health", "query", "query_grpc", "otlp_grpc", "otlp_http", "metrics")
    }
    config_file = workdir / "jaeger.yaml"
    config_file.write_text(yaml.safe_dump(deployed_config(ports)))
    log = workdir / "jaeger.log"
    ready = f"http://127.0.0.1:{ports['health']}/status"
    with ready_process([str(JAEGER), "--config", str(config_file)], log, ready, "Jaeger"):
        yield Jaeger(
            f"http://127.0.0.1:{ports['otlp_http']}", f"http://127.0.0.1:{ports['query']}", log
        )
