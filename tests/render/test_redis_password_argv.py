"""Redis's password never stands on a command line: the argv Kubernetes hands
the container runtime (command and args after $(VAR) expansion, shown by
`crictl inspect` and kept in the runtime's state) holds no password, and the
rendered container, run here with a real redis-server, still demands it."""

from __future__ import annotations

import re
import subprocess

import pytest
import redis
import yaml

from tests.support.servers import free_port, wait_for_port
from titanium_tools import inventory

# Quotes, a backslash, spaces and a newline: a config file must carry them intact.
PASSWORD = "s3cret \"with\" 'quotes' \\ and\nlines $(x)"


def redis_container() -> dict:
    text = inventory.render("local")["services/base/data/redis.yaml"]
    for doc in yaml.safe_load_all(text):
        if doc and doc["kind"] == "Deployment":
            return doc["spec"]["template"]["spec"]["containers"][0]
    raise AssertionError("no redis Deployment")


def runtime_argv(container: dict, env: dict[str, str]) -> list[str]:
    """What the kubelet passes on: $(NAME) replaced from the container's env;
    no command means the image's own (redis-server)."""
    argv = [*container.get("command", ["redis-server"]), *container.get("args", [])]
    return [re.sub(r"\$\((\w+)\)", lambda m: env.get(m[1], m[0]), part) for part in argv]


def test_the_runtime_argv_holds_no_password_and_redis_still_demands_it(tmp_path):
    container = redis_container()
    env = {
        entry["name"]: PASSWORD
        for entry in container["env"]
        if entry.get("valueFrom", {}).get("secretKeyRef", {}).get("name") == "titanium-redis"
    }
    assert "REDIS_PASSWORD" in env
    argv = runtime_argv(container, env)
    assert not any(PASSWORD in part for part in argv), argv

    # Run it as the pod would, with /data in a temporary folder and a free port.
    port = free_port()
    data = str(tmp_path)
    local = [part.replace("/data", data) for part in argv]
    local += ["--port", str(port), "--bind", "127.0.0.1", "--dir", data]
    server = subprocess.Popen(local, env={"PATH": "/usr/bin:/bin", **env})
    try:
        wait_for_port(port)
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port).ping()
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=port, password="not it").ping()
        assert redis.Redis(port=port, password=PASSWORD).ping()
    finally:
        server.terminate()
        server.wait(10)
