"""No database password is put into a URL by Kubernetes' $(VAR) expansion,
which cannot escape it: each service gets it as <PREFIX>DATABASE_PASSWORD."""

from __future__ import annotations

import yaml

from plugins.module_utils import titanium_gitops_render as gitops


def containers() -> list[tuple[str, dict]]:
    found = []
    for path, text in gitops.render("local").items():
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
