"""No database or Redis password is put into a URL by Kubernetes' $(VAR)
expansion, which cannot escape it: each service gets it as a setting of its
own (<PREFIX>DATABASE_PASSWORD, <PREFIX>REDIS_PASSWORD)."""

from __future__ import annotations

from urllib.parse import urlsplit

import yaml

from titanium_tools import inventory


def containers() -> list[tuple[str, dict]]:
    found = []
    for path, text in inventory.render("local").items():
        if not path.startswith("services/base/") or not path.endswith(".yaml"):
            continue
        for doc in yaml.safe_load_all(text):
            if doc and doc.get("kind") in ("Deployment", "Job"):
                spec = doc["spec"]["template"]["spec"]
                found += [(f"{path}:{c['name']}", c) for c in spec.get("containers", [])]
    return found


def test_database_urls_hold_no_password_and_the_password_comes_as_a_setting():
    checked = 0
    for where, container in containers():
        env = {entry["name"]: entry for entry in container.get("env", [])}
        for name, entry in env.items():
            if not name.endswith("DATABASE_URL"):
                continue
            checked += 1
            assert "$(" not in entry["value"], f"{where}: {name} = {entry['value']}"
            password = env.get(name.removesuffix("URL") + "PASSWORD")
            assert password is not None, f"{where}: no {name.removesuffix('URL')}PASSWORD"
            assert "secretKeyRef" in password["valueFrom"], where
    assert checked >= 6, "three services with a database, a Deployment and a Job each"


def test_redis_urls_hold_no_password_and_name_a_rendered_store():
    stores = {
        doc["metadata"]["name"]
        for doc in yaml.safe_load_all(inventory.render("local")["services/base/data/redis.yaml"])
        if doc and doc["kind"] == "Service"
    }
    checked = 0
    for where, container in containers():
        env = {entry["name"]: entry for entry in container.get("env", [])}
        for name, entry in env.items():
            if not name.endswith("REDIS_URL"):
                continue
            checked += 1
            url = urlsplit(entry["value"])
            assert url.password is None and "$(" not in entry["value"], f"{where}: {name}"
            assert url.hostname in stores, f"{where}: {name} names no rendered Redis store"
            prefix = name.split("_", 1)[0] + "_"
            password = env.get(prefix + "REDIS_PASSWORD")
            assert password is not None, f"{where}: no {prefix}REDIS_PASSWORD"
            assert password["valueFrom"]["secretKeyRef"]["name"] == "titanium-redis", where
    assert checked >= 4, "api-gateway (cache and limits), auth-service, blog-service"
