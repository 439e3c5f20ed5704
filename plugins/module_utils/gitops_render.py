# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render the GitOps repository for one environment from `gitops/`.

Shared by the `gitops_render` module, `make render` and the render tests, so
what the tests prove is what Ansible pushes. Output is deterministic: files are produced
in sorted order, YAML is re-serialised from the parsed objects, and nothing
depends on the clock, the host or the environment variables.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import shutil
from pathlib import Path

try:
    import jinja2
    import yaml
except ImportError as error:  # the modules report it with missing_required_lib
    RENDER_IMPORT_ERROR: ImportError | None = error
    _SafeLoader = _SafeDumper = object
else:
    RENDER_IMPORT_ERROR = None
    # libyaml's C parser and emitter when present: the same YAML, several times faster.
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    _SafeDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

# An environment is named after its inventory (inventories/<name>), and the name
# becomes paths in the repository and parts of Kubernetes names.
ENVIRONMENT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
# Where an inventory states its environment's values, for the messages.
VALUES_VARIABLE = "titanium_environment_values"
DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "gitops"

# Docker's tag grammar; "latest" is refused because it pins nothing.
IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
# A content digest as registries report it (the blog's images are sha256-addressed).
IMAGE_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
# A registry host (with an optional port) and an optional path below it, in
# lowercase as image references require: ghcr.io/org, 127.0.0.1:5000, localhost.
IMAGE_REGISTRY = re.compile(
    r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(/[a-z0-9]+([._-][a-z0-9]+)*)*$"
)
# A Kubernetes namespace name (an RFC 1123 label).
NAMESPACE = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
# The image key of Bookinfo (services/bookinfo) in image_tags and image_digests.
BOOKINFO = "bookinfo"
HEADER = "# Rendered from gitops/{src} for {env}; edit the source, not this file.\n"
SERVICE_PLACEHOLDER = "__service__"
REQUIRED_ENV_KEYS = (
    "namespace",
    "hostname",
    "loadgen",
    "image_registry",
    "image_tags",
    "postgres_storage",
)

# Source folder in gitops/ -> folder in the rendered repository. Only the
# environment-specific folders carry the environment's name, so every
# environment can be seeded into one repository without touching the others.
# The shared base is rendered from the common values alone, so every
# environment's render writes it byte for byte the same.
LAYOUT = (
    ("argocd", "argocd/{env}", False),
    ("services/base", "services/base", True),
    ("services/overlays", "services/overlays/{env}", False),
    ("platform", "platform/{env}", False),
    # Bookinfo, one Argo CD application of its own; renders nothing where it is off.
    ("bookinfo", "bookinfo/{env}", False),
)


class RenderError(ValueError):
    """Bad input: the message names the environment, file or variable at fault."""


def managed_paths(env: str) -> list[str]:
    """The repository paths a render of `env` owns; seeding touches nothing else."""
    check_environment(env)
    return [layout[1].format(env=env) for layout in LAYOUT]


def check_environment(env: str) -> None:
    if not isinstance(env, str) or not ENVIRONMENT_NAME.match(env):
        raise RenderError(
            f"environment name {env!r} is not usable: lowercase letters, digits and '-', "
            "starting with a letter, as its inventory directory is named"
        )


def _merge(base: dict, override: dict) -> dict:
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def load_values(
    env: str,
    environment_values: dict,
    source: Path = DEFAULT_SOURCE,
    overrides: dict | None = None,
) -> dict:
    """Common values, then the environment's (from its inventory), then the
    caller's overrides."""
    check_environment(env)
    if not isinstance(environment_values, dict):
        raise RenderError(
            f"{env}: {VALUES_VARIABLE} must be a mapping, got "
            f"{type(environment_values).__name__} (set it in the inventory's group_vars)"
        )
    source = Path(source)
    common = common_values(source)
    values = _merge(common, environment_values)
    values = _merge(values, overrides or {})
    # Weights say where all of reviews' traffic goes: the last layer that states
    # them replaces them whole (merged, v3: 100 over v1: 100 would be 200).
    for layer in (environment_values, overrides or {}):
        route = (layer.get("bookinfo") or {}).get("reviews_route") or {}
        if isinstance(values.get("bookinfo"), dict) and "weights" in route:
            values["bookinfo"]["reviews_route"]["weights"] = copy.deepcopy(route["weights"])
    missing = [key for key in REQUIRED_ENV_KEYS if key not in values]
    if missing:
        raise RenderError(
            f"{env}: {VALUES_VARIABLE} lacks {', '.join(missing)} "
            "(set them in the inventory's group_vars)"
        )
    check_bookinfo(env, values)
    images = deployed_images(values)
    tags = values["image_tags"]
    for service in images:
        if service not in tags:
            raise RenderError(f"{env}: missing variable image_tags.{service}")
    for service, tag in tags.items():
        if service not in images and service != BOOKINFO:
            raise RenderError(f"{env}: image_tags names unknown service {service!r}")
        check_image_tag(service, tag)
    check_image_registry(env, values["image_registry"])
    digests = values.setdefault("image_digests", {})
    if not isinstance(digests, dict):
        raise RenderError(f"{env}: image_digests must map services to digests, not {digests!r}")
    for service, digest in digests.items():
        if service not in images:
            raise RenderError(f"{env}: image_digests names unknown service {service!r}")
        if not isinstance(digest, str) or not IMAGE_DIGEST.match(digest):
            raise RenderError(
                f"malformed image digest {digest!r} for {service}: expected sha256: and "
                "64 lowercase hex digits, as the registry reports it"
            )
    proxies = values.get("ingress_trusted_proxies")
    if isinstance(proxies, bool) or not isinstance(proxies, int) or proxies < 0:
        raise RenderError(
            f"{env}: ingress_trusted_proxies must be a whole number of proxies (0 or more), "
            f"not {proxies!r}"
        )
    values["env"] = env
    values["dashboards"] = sorted(
        path.name.removesuffix(".yml.j2")
        for path in (source / "platform/monitoring/dashboards").glob("*.yml.j2")
    )
    # The namespaces Git may deploy into, each with the sync identity's grants.
    values["workload_namespaces"] = [values["namespace"]] + (
        [values["bookinfo"]["namespace"]] if values["bookinfo"]["enabled"] else []
    )
    return values


# The value of an end-user header a route may match: a user name, no spaces.
ROUTE_USER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")


def check_reviews_route(env: str, bookinfo: dict) -> None:
    """The reviews route (the runbook's steps render from it): weights over
    reviews' versions summing to 100, and a well-formed user for a header route."""
    versions = bookinfo["services"]["reviews"]["versions"]
    route = bookinfo.get("reviews_route")
    if not isinstance(route, dict):
        raise RenderError(f"{env}: bookinfo.reviews_route must be a mapping, not {route!r}")
    weights = route.get("weights")
    if not isinstance(weights, dict) or not weights:
        raise RenderError(
            f"{env}: bookinfo.reviews_route.weights must map versions of reviews "
            f"({', '.join(versions)}) to percentages, not {weights!r}"
        )
    unknown = sorted(str(version) for version in weights if version not in versions)
    if unknown:
        raise RenderError(
            f"{env}: reviews has no version {', '.join(unknown)} (it has {', '.join(versions)})"
        )
    bad = {
        v: w for v, w in weights.items() if isinstance(w, bool) or not isinstance(w, int) or w < 0
    }
    if bad:
        raise RenderError(f"{env}: reviews weights must be whole percentages, not {bad!r}")
    if sum(weights.values()) != 100:
        shown = ", ".join(f"{v}={w}" for v, w in sorted(weights.items()))
        raise RenderError(
            f"{env}: reviews weights {shown} sum to {sum(weights.values())}, not 100: "
            "give weights that add up to 100"
        )
    user = route.get("user", "")
    if user and (not isinstance(user, str) or not ROUTE_USER.match(user)):
        raise RenderError(
            f"{env}: end-user {user!r} is not a user name (up to 64 letters, digits, '_', '.', "
            "'@', '-')"
        )
    if user and route.get("user_version") not in versions:
        raise RenderError(
            f"{env}: the user's route names reviews version {route.get('user_version')!r}, "
            f"which reviews does not have ({', '.join(versions)})"
        )


def deployed_images(values: dict) -> list[str]:
    """The images an environment runs, by the key its image_tags names them with:
    the blog's services, and Bookinfo's one image where it is switched on."""
    return list(values["services"]) + ([BOOKINFO] if values["bookinfo"]["enabled"] else [])


def third_party_images(values: dict) -> dict[str, str]:
    """The pinned third-party images an environment runs, by their key in the
    values (key -> reference): the data stores always, the load generator's
    where the load generators run (the blog's, and Bookinfo's beside it)."""
    keys = ["postgres_image", "redis_image"] + (["loadgen_image"] if values.get("loadgen") else [])
    return {key: values[key] for key in keys}


def environment_third_party_images(
    environment_values: dict, source: Path = DEFAULT_SOURCE
) -> dict[str, str]:
    """third_party_images of an environment's values merged over the common ones
    that it pins by digest (third_party_pin_digests), without those the
    environment runs its own build of (image_overrides)."""
    values = _merge(common_values(source), environment_values)
    if not values.get("third_party_pin_digests"):
        return {}
    overridden = values.get("image_overrides") or {}
    return {k: v for k, v in third_party_images(values).items() if k not in overridden}


def environment_images(environment_values: dict, source: Path = DEFAULT_SOURCE) -> list[str]:
    """deployed_images of an environment's values merged over the common ones."""
    return deployed_images(_merge(common_values(source), environment_values))


def check_bookinfo(env: str, values: dict) -> None:
    """Bookinfo's switch, namespace and NodePort, before anything is rendered."""
    bookinfo = values.get("bookinfo")
    where = "set bookinfo in the inventory's group_vars/all/environment.yml"
    if not isinstance(bookinfo, dict) or not isinstance(bookinfo.get("enabled"), bool):
        raise RenderError(f"{env}: bookinfo.enabled must be true or false ({where})")
    if not bookinfo["enabled"]:
        return
    namespace = bookinfo.get("namespace")
    if not isinstance(namespace, str) or not NAMESPACE.match(namespace):
        raise RenderError(
            f"{env}: bookinfo.namespace {namespace!r} is not a namespace name (lowercase "
            f"letters, digits and '-', at most 63); {where}"
        )
    if namespace == values["namespace"]:
        raise RenderError(
            f"{env}: bookinfo.namespace is the blog's namespace {namespace!r}: Bookinfo runs in "
            f"a namespace of its own; {where}"
        )
    check_reviews_route(env, bookinfo)
    nodeport = bookinfo.get("nodeport")
    if (
        isinstance(nodeport, bool)
        or not isinstance(nodeport, int)
        or not 30000 <= nodeport <= 32767
    ):
        raise RenderError(
            f"{env}: Bookinfo's NodePort {nodeport!r} is outside 30000-32767 "
            "(set gitops_bookinfo_nodeport in the inventory)"
        )


def common_values(source: Path = DEFAULT_SOURCE) -> dict:
    source = Path(source)
    values = yaml.safe_load((source / "values/common.yml").read_text()) or {}
    values["secrets"] = yaml.safe_load((source / "secrets.yml").read_text())["secrets"]
    values["env"] = "shared"
    return values


def check_image_tag(service: str, tag: object) -> None:
    if not isinstance(tag, str) or not IMAGE_TAG.match(tag) or tag == "latest":
        raise RenderError(
            f"malformed image tag {tag!r} for {service}: a tag is 1-128 characters of "
            "letters, digits, '_', '.', '-', not starting with '.' or '-', and not 'latest'"
        )


def check_image_registry(env: str, registry: object) -> None:
    if not isinstance(registry, str) or not IMAGE_REGISTRY.match(registry):
        raise RenderError(
            f"{env}: image_registry {registry!r} is not a registry: a lowercase host with an "
            "optional :port and /path (ghcr.io/my-org, 127.0.0.1:5000, localhost), no scheme "
            "and no trailing '/'; set it in the inventory's group_vars/all/environment.yml"
        )


@functools.lru_cache(maxsize=8)
def template_environment(source: Path = DEFAULT_SOURCE) -> jinja2.Environment:
    """One engine per source folder, so each template compiles once per process."""
    jinja = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(source)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # noqa: S701  YAML, not HTML
    )
    jinja.filters["to_json"] = lambda value: json.dumps(value, sort_keys=True)
    return jinja


class _Dumper(_SafeDumper):
    """Block style, multi-line strings as literal blocks, no aliases."""

    def ignore_aliases(self, data):
        return True


def _str_presenter(dumper, data):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


if RENDER_IMPORT_ERROR is None:
    _Dumper.add_representer(str, _str_presenter)


def dump_yaml(documents: list) -> str:
    return "---\n".join(
        yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096)
        for doc in documents
    )


def _render_template(jinja, template: str, context: dict, env: str) -> list:
    try:
        text = jinja.get_template(template).render(context)
    except jinja2.UndefinedError as exc:
        raise RenderError(f"{template}: missing variable: {exc.message}") from exc
    try:
        return [doc for doc in yaml.load_all(text, Loader=_SafeLoader) if doc is not None]
    except yaml.YAMLError as exc:
        raise RenderError(f"{template} rendered invalid YAML for {env}: {exc}") from exc


def render(
    env: str,
    environment_values: dict,
    source: Path = DEFAULT_SOURCE,
    overrides: dict | None = None,
) -> dict:
    """Return {repository path: file content} for `env`, sorted by path."""
    source = Path(source)
    values = load_values(env, environment_values, source, overrides)
    shared_values = common_values(source)
    jinja = template_environment(Path(source).resolve())
    files: dict[str, str] = {}
    for src_dir, target, shared in LAYOUT:
        target = target.format(env=env)
        context = shared_values if shared else values
        for template in sorted((source / src_dir).rglob("*.j2")):
            if template.name.startswith("_") or template.parent.name == "dashboards":
                continue  # macros, and dashboards (built by _dashboards)
            relative = template.relative_to(source / src_dir).as_posix()
            name = template.relative_to(source).as_posix()
            contexts = [({}, relative)]
            if SERVICE_PLACEHOLDER in relative:
                contexts = [
                    (
                        {"service": svc, "svc": context["services"][svc]},
                        relative.replace(SERVICE_PLACEHOLDER, svc),
                    )
                    for svc in context["services"]
                ]
            for extra, out_relative in contexts:
                documents = _render_template(jinja, name, {**context, **extra}, env)
                if not documents:
                    continue  # a template that renders nothing is switched off for this env
                out_path = f"{target}/{out_relative[: -len('.j2')]}"
                header = HEADER.format(src=name, env="every environment" if shared else env)
                files[out_path] = header + dump_yaml(documents)
    files.update(_dashboards(env, source, values))
    return dict(sorted(files.items()))


# Where dashboards' panel lists live, where their ConfigMaps go, and the values
# key of the namespace they are made in.
DASHBOARDS = (
    ("platform/monitoring/dashboards", "platform/{env}/monitoring/dashboards", ("namespace",)),
    ("bookinfo/dashboards", "bookinfo/{env}/dashboards", ("bookinfo", "namespace")),
)


def _dashboards(env: str, source: Path, values: dict) -> dict:
    """Grafana dashboards: panel lists in gitops/ become ConfigMaps for Grafana's
    sidecar. A list that renders nothing is switched off for the environment."""
    jinja = template_environment(source)
    files = {}
    for folder, out_folder, namespace_key in DASHBOARDS:
        namespace = values
        for key in namespace_key:
            namespace = namespace[key]
        for spec_path in sorted((source / folder).glob("*.yml.j2")):
            name = spec_path.relative_to(source).as_posix()
            specs = _render_template(jinja, name, values, env)
            if not specs:
                continue
            stem = spec_path.name.removesuffix(".yml.j2")
            out = f"{out_folder.format(env=env)}/{stem}.yaml"
            files[out] = HEADER.format(src=name, env=env) + dump_yaml(
                [_dashboard_configmap(specs[0], namespace, values)]
            )
    return files


def _dashboard_configmap(spec: dict, namespace: str, values: dict) -> dict:
    dashboard = build_dashboard(spec)
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": f"dashboard-{spec['uid']}",
            "namespace": namespace,
            "labels": {**values["monitoring_labels"], values["grafana_dashboard_label"]: "1"},
            # Grafana's sidecar files the dashboards into this folder.
            "annotations": {"grafana_folder": "Titanium"},
        },
        "data": {f"{spec['uid']}.json": json.dumps(dashboard, indent=2, sort_keys=True) + "\n"},
    }


def build_dashboard(spec: dict) -> dict:
    """A Grafana dashboard model: one timeseries panel per entry, two per row."""
    panels = []
    for index, panel in enumerate(spec["panels"]):
        targets = [
            {
                "expr": query["expr"],
                "legendFormat": query.get("legend", ""),
                "refId": chr(65 + n),
                # Sampled requests' trace ids on the graph, each a link to its trace.
                **({"exemplar": True} if query.get("exemplars") else {}),
            }
            for n, query in enumerate(panel["queries"])
        ]
        panels.append(
            {
                "id": index + 1,
                "type": "timeseries",
                "title": panel["title"],
                "description": panel.get("description", ""),
                "datasource": {"type": "prometheus", "uid": "${datasource}"},
                "gridPos": {"h": 8, "w": 12, "x": (index % 2) * 12, "y": (index // 2) * 8},
                "fieldConfig": {"defaults": {"unit": panel.get("unit", "short")}, "overrides": []},
                "targets": targets,
            }
        )
    return {
        "uid": spec["uid"],
        "title": spec["title"],
        "tags": spec.get("tags", []),
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"},
        "templating": {
            "list": [
                {
                    "name": "datasource",
                    "type": "datasource",
                    "query": "prometheus",
                    "label": "Data source",
                }
            ]
        },
        "panels": panels,
    }


def write_tree(files: dict, out_dir: Path) -> None:
    """Replace `out_dir` with exactly `files`, so stale files never survive a render."""
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    for relative, content in files.items():
        path = out_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
