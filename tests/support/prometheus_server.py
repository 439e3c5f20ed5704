"""A real Prometheus (Debian's binary) started as a plain process on a free port."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.ports import free_port


class Prometheus:
    def __init__(self, url: str, process: subprocess.Popen, log: Path) -> None:
        self.url = url
        self.process = process
        self.log = log

    def query(self, promql: str) -> list[dict]:
        data = urllib.parse.urlencode({"query": promql}).encode()
        url = f"{self.url}/api/v1/query"
        with urllib.request.urlopen(url, data=data, timeout=5) as answer:  # noqa: S310  http only
            return json.load(answer)["data"]["result"]

    def _get(self, path: str):
        with urllib.request.urlopen(self.url + path, timeout=5) as answer:  # noqa: S310  http only
            return json.load(answer)["data"]

    def alerts(self) -> list[dict]:
        """Every alert the rules hold now, pending or firing."""
        return self._get("/api/v1/alerts")["alerts"]

    def metric_names(self) -> set[str]:
        return set(self._get("/api/v1/label/__name__/values"))

    def wait_for(self, promql: str, timeout: float = 30) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            result = self.query(promql)
            if result:
                return result
            time.sleep(0.5)
        raise TimeoutError(f"no data for {promql} after {timeout}s; log: {self.log.read_text()}")


@contextmanager
def running_prometheus(
    workdir: Path,
    targets: list[str] = (),
    interval: str = "1s",
    *,
    scrape_configs: list[dict] | None = None,
    rule_files: list[Path] = (),
    alertmanagers: list[str] = (),
    flags: list[str] = (),
    address: str = "127.0.0.1",
) -> Iterator[Prometheus]:
    """Scrape `targets` as job "test", or the given `scrape_configs`; evaluate
    `rule_files` and send alerts to the `alertmanagers` (host:port); `flags` go
    to the command line. `address` is where it listens (the Kubernetes API server
    proxies to no loopback address)."""
    binary = shutil.which("prometheus")
    if binary is None:
        raise RuntimeError("prometheus is missing: run `make setup` (Debian package prometheus)")
    port = free_port()
    settings = {
        "global": {"scrape_interval": interval, "evaluation_interval": interval},
        "scrape_configs": scrape_configs
        or [{"job_name": "test", "static_configs": [{"targets": list(targets)}]}],
        "rule_files": [str(path) for path in rule_files],
    }
    if alertmanagers:
        settings["alerting"] = {
            "alertmanagers": [{"static_configs": [{"targets": list(alertmanagers)}]}]
        }
    config = workdir / "prometheus.yml"
    config.write_text(json.dumps(settings))
    log = workdir / "prometheus.log"
    url = f"http://{address}:{port}"
    command = [
        binary,
        f"--config.file={config}",
        f"--storage.tsdb.path={workdir / 'data'}",
        f"--web.listen-address={address}:{port}",
        "--web.enable-lifecycle",
        *flags,
    ]
    with ready_process(command, log, f"{url}/-/ready", "Prometheus") as process:
        yield Prometheus(url, process, log)


@contextmanager
def ready_process(
    command: list[str], log: Path, ready_url: str, what: str
) -> Iterator[subprocess.Popen]:
    """Run `command` with its output in `log`; yield once `ready_url` answers;
    stop it on the way out. Prometheus and Alertmanager start the same way."""
    with log.open("w") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(ready_url, timeout=1):  # noqa: S310  http only
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{what} did not start: {log.read_text()}") from None
                time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
