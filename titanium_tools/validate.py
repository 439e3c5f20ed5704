"""Render every environment and prove the result valid before it reaches a cluster.

`make validate` runs this (python -m titanium_tools.validate);
tests/render/test_gitops_validate.py runs each check
as a test. Checks: rendering twice is byte-identical; `kubectl kustomize` builds
every kustomization; built-in kinds pass kubernetes-validate --strict for the
pinned Kubernetes version; custom resources pass their CRD schemas (node and the
@kubernetes-models packages); promtool checks the rules and runs their unit
tests; dashboards are JSON with unique uids and PromQL that parses; checkov's
Kubernetes policies pass; no secret is in the tree.
"""

from __future__ import annotations

import argparse
import json
import re
import resource
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jsonschema
import referencing
import yaml

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops
from titanium_tools import REPO_ROOT, inventory
from titanium_tools.versions import pins

BUILD = REPO_ROOT / "build"
CHECKOV = REPO_ROOT / ".venv-checkov/bin/checkov"
CR_VALIDATOR = Path(__file__).with_name("validate-custom-resources.mjs")
ALERT_TESTS = REPO_ROOT / "gitops/tests/alerts.test.yml.j2"
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
CUSTOM_GROUPS = ("argoproj.io", "monitoring.coreos.com")
# argocd/<env>/ files the gitops role applies itself, in this order (its
# register.yml); Argo CD syncs only the root's path, apps/.
ANSIBLE_APPLIED = ("sync-identities.yaml", "projects.yaml", "root.yaml")

# Patterns that only a leaked credential would match in a rendered tree.
SECRET_PATTERNS = {
    "private key": re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
    "AWS access key": re.compile(r"\bAKIA[0-9A-Z]{16}\b"),
    "JWT": re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    "credentials in a URL": re.compile(r"://[^/\s:@$]+:[^/\s@$(]+@"),
    "literal password": re.compile(
        r"(?i)\b(password|passwd|secret|token|api[_-]?key)\b[\"']?\s*[:=]\s*[\"']?(?![\s\"'$(]|\{\{)[^\s\"']{6,}"
    ),
}


def kubernetes_version() -> str:
    """major.minor of the Kubernetes the pinned k3s ships (the versions role)."""
    return pins()["KUBERNETES_VERSION"].removeprefix("v").rsplit(".", 1)[0]


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, check=False, **kwargs)


class Report:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.timings: dict[str, float] = {}

    def fail(self, check: str, message: str) -> None:
        self.errors.append(f"[{check}] {message}")


def render_env(env: str, out: Path, report: Report) -> dict:
    files = inventory.render(env)
    if inventory.render(env) != files:
        report.fail("deterministic", f"{env}: two renders differ")
    gitops.write_tree(files, out)
    return files


def application_paths(env: str, tree: Path) -> list[Path]:
    """The folders Argo CD builds: the root's path and each child's."""
    apps = tree / f"argocd/{env}/apps"
    paths = [apps]
    for path in sorted(apps.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        if doc.get("kind") == "Application":
            paths.append(tree / doc["spec"]["source"]["path"])
    return paths


def build_objects(trees: dict[str, Path], report: Report) -> dict[str, list[tuple[str, dict]]]:
    """kubectl kustomize every folder each environment's applications point at."""
    jobs = [
        (env, tree, root) for env, tree in trees.items() for root in application_paths(env, tree)
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda job: run(["kubectl", "kustomize", str(job[2])]), jobs))
    objects: dict[str, list] = {env: [] for env in trees}
    for (env, tree, directory), result in zip(jobs, results, strict=True):
        name = directory.relative_to(tree).as_posix()
        if result.returncode:
            report.fail("kustomize", f"{env}: {name}: {result.stderr.strip()}")
            continue
        for doc in yaml.load_all(result.stdout, Loader=LOADER):
            if doc:
                objects[env].append((f"{env}:{name}", doc))
    for env, tree in trees.items():
        for name in ANSIBLE_APPLIED:
            path = tree / f"argocd/{env}/{name}"
            for doc in yaml.load_all(path.read_text(), Loader=LOADER):
                if doc:
                    objects[env].append((f"{env}:argocd/{env}/{name}", doc))
    return objects


def built_environment(env: str, tree: Path) -> list[dict]:
    """env's tree rendered into tree and built as Argo CD builds it: its objects.
    A folder kustomize cannot build raises, naming it."""
    gitops.write_tree(inventory.render(env), tree)
    report = Report()
    objects = [obj for _, obj in build_objects({env: tree}, report)[env]]
    if report.errors:
        raise RuntimeError(f"{env} does not build: {report.errors}")
    return objects


def built_overlay(
    env: str, out: Path, overrides: dict | None = None
) -> dict[tuple[str, str], dict]:
    """The environment's services overlay, rendered with `overrides` and built by
    `kubectl kustomize`: each object by (kind, name)."""
    gitops.write_tree(inventory.render(env, overrides=overrides), out)
    built = subprocess.run(
        ["kubectl", "kustomize", str(out / "services/overlays" / env)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    documents = yaml.load_all(built, Loader=LOADER)
    return {(doc["kind"], doc["metadata"]["name"]): doc for doc in documents if doc}


def is_custom(obj: dict) -> bool:
    group = obj["apiVersion"].split("/")[0] if "/" in obj["apiVersion"] else ""
    return group in CUSTOM_GROUPS or group.endswith(".istio.io")


class BuiltinValidator:
    """kubernetes-validate's strict schemas, with each schema loaded once.

    kubernetes_validate.validate() re-reads its large definitions file on every
    call; the same files and the same Draft 2020-12 validation, cached, make the
    whole run several times faster.
    """

    def __init__(self, version: str) -> None:
        from kubernetes_validate import utils

        self.utils = utils
        self.version = [v for v in utils.all_versions() if utils.major_minor(v) <= version][-1]
        self.schema_dir = f"kubernetes-json-schema/v{self.version}-local-strict"
        definitions = utils.schema_contents(f"{self.schema_dir}/_definitions.json", version)
        self.registry = referencing.Resource.from_contents(definitions) @ referencing.Registry()
        self.cache: dict = {}

    def validator(self, api_version: str, kind: str):
        key = (api_version, kind)
        if key not in self.cache:
            group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
            name = f"{self.schema_dir}/{kind.lower()}-{group_version}.json"
            schema = self.utils.schema_contents(name, self.version)
            registry = referencing.Resource.from_contents(schema) @ self.registry
            self.cache[key] = jsonschema.Draft202012Validator(schema, registry=registry)
        return self.cache[key]

    def errors(self, obj: dict) -> list[str]:
        try:
            validator = self.validator(obj["apiVersion"], obj["kind"])
        except FileNotFoundError:
            return [f"no schema for {obj['apiVersion']} {obj['kind']}"]
        return [
            f"{error.message} at {'/'.join(map(str, error.absolute_path))}"
            for error in validator.iter_errors(obj)
        ]


def validate_builtin(objects, version: str, report: Report) -> int:
    checker = BuiltinValidator(version)
    count = 0
    for source, obj in objects:
        if is_custom(obj):
            continue
        count += 1
        for error in checker.errors(obj):
            where = f"{source}: {obj['kind']}/{obj['metadata']['name']}"
            report.fail("kubernetes-validate", f"{where}: {error}")
    return count


def validate_custom(objects, work: Path, report: Report) -> int:
    entries = [{"source": s, "object": o} for s, o in objects if is_custom(o)]
    listing = work / "custom-resources.json"
    listing.write_text(json.dumps(entries))
    result = run(["node", str(CR_VALIDATOR), str(listing)], cwd=REPO_ROOT)
    if result.returncode:
        report.fail("crd-schema", result.stdout.strip() or result.stderr.strip())
    return len(entries)


def rule_files(env: str, objects, work: Path, report: Report) -> tuple[Path, Path]:
    """Alert rules as a Prometheus rule file, and dashboard queries as recording rules."""
    rules = {"groups": []}
    queries = []
    uids = {}
    for source, obj in objects:
        if obj["kind"] == "PrometheusRule":
            rules["groups"].extend(obj["spec"]["groups"])
        if obj["kind"] == "ConfigMap" and "grafana_dashboard" in obj["metadata"].get("labels", {}):
            for key, text in obj["data"].items():
                try:
                    dashboard = json.loads(text)
                except json.JSONDecodeError as exc:
                    report.fail("dashboards", f"{source}: {key} is not JSON: {exc}")
                    continue
                if dashboard["uid"] in uids:
                    report.fail("dashboards", f"uid {dashboard['uid']} used twice")
                uids[dashboard["uid"]] = key
                for panel in dashboard["panels"]:
                    for target in panel["targets"]:
                        queries.append((f"{key} / {panel['title']}", target["expr"]))
    rules_path = work / f"{env}-rules.yml"
    rules_path.write_text(yaml.safe_dump(rules, sort_keys=False))
    # promtool has no parser for bare expressions: one recording rule each.
    exprs = {
        "groups": [
            {
                "name": "dashboard-queries",
                "rules": [
                    {"record": f"dashboard:query{n}", "expr": expr, "labels": {"panel": where}}
                    for n, (where, expr) in enumerate(queries)
                ],
            }
        ]
    }
    exprs_path = work / f"{env}-dashboard-queries.yml"
    exprs_path.write_text(yaml.safe_dump(exprs, sort_keys=False))
    if not queries:
        report.fail("dashboards", f"{env}: no dashboard query found")
    return rules_path, exprs_path


def promtool(envs: dict[str, tuple[Path, Path]], work: Path, report: Report) -> None:
    """One `promtool check rules` and one `promtool test rules` for all environments."""
    files = [str(path) for pair in envs.values() for path in pair]
    result = run(["promtool", "check", "rules", *files])
    if result.returncode:
        report.fail("promtool check", f"{result.stdout}{result.stderr}")
    # The renderer's own engine, so the tests read the values the rules were made from.
    tests = gitops.template_environment().from_string(ALERT_TESTS.read_text())
    test_files = []
    for env, (rules, _) in envs.items():
        test_path = work / f"{env}-alerts.test.yml"
        test_path.write_text(tests.render(**inventory.load_values(env), rule_file=rules.name))
        test_files.append(test_path.name)
    result = run(["promtool", "test", "rules", *test_files], cwd=work)
    if result.returncode:
        report.fail("promtool test", f"{result.stdout}{result.stderr}")


def checkov(built: Path, report: Report) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(CHECKOV),
            "-d",
            str(built),
            "--framework",
            "kubernetes",
            "--skip-download",
            "--compact",
            "--quiet",
            "-o",
            "json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={"BC_SKIP_MAPPING": "TRUE", "PATH": "/usr/bin:/bin", "HOME": str(Path.home())},
    )


def checkov_result(process: subprocess.Popen, report: Report) -> None:
    out, err = process.communicate()
    try:
        data = json.loads(out)
    except json.JSONDecodeError:
        report.fail("checkov", f"no JSON from checkov: {err.strip()[-2000:]}")
        return
    for section in data if isinstance(data, list) else [data]:
        for failed in section.get("results", {}).get("failed_checks", []):
            report.fail(
                "checkov",
                f"{failed['check_id']} {failed['check_name']}: "
                f"{failed['file_path']} {failed['resource']}",
            )


def scan_secrets(files: dict[str, str]) -> list[str]:
    findings = []
    for path, content in files.items():
        for line_no, line in enumerate(content.splitlines(), 1):
            for name, pattern in SECRET_PATTERNS.items():
                if pattern.search(line):
                    findings.append(f"{path}:{line_no}: looks like a {name}")
        for doc in yaml.load_all(content, Loader=LOADER):
            if isinstance(doc, dict) and doc.get("kind") == "Secret":
                findings.append(f"{path}: holds a Secret object")
    return findings


def validate(envs=None, out_root: Path = BUILD / "gitops") -> Report:
    envs = inventory.environments() if envs is None else envs
    report = Report()
    work = BUILD / "gitops-validate"
    built_dir = work / "built"
    if work.exists():
        shutil.rmtree(work)
    built_dir.mkdir(parents=True)
    version = kubernetes_version()
    started = time.perf_counter()
    trees = {}
    for env in envs:
        files = render_env(env, out_root / env, report)
        for finding in scan_secrets(files):
            report.fail("secret-scan", finding)
        trees[env] = out_root / env
    per_env = build_objects(trees, report)
    for env, objects in per_env.items():
        (built_dir / f"{env}.yaml").write_text(
            yaml.safe_dump_all([o for _, o in objects if o["kind"] != "Application"])
        )
    report.timings["render+kustomize"] = time.perf_counter() - started
    # checkov is the slowest step: it runs while the others do.
    scan = checkov(built_dir, report)
    step = time.perf_counter()
    all_objects = [item for objects in per_env.values() for item in objects]
    validate_custom(all_objects, work, report)
    builtin = validate_builtin(all_objects, version, report)
    report.timings["schemas"] = time.perf_counter() - step
    step = time.perf_counter()
    promtool(
        {env: rule_files(env, objects, work, report) for env, objects in per_env.items()},
        work,
        report,
    )
    report.timings["promtool"] = time.perf_counter() - step
    step = time.perf_counter()
    checkov_result(scan, report)
    report.timings["checkov (overlapped)"] = time.perf_counter() - step
    report.timings["total"] = time.perf_counter() - started
    report.counts = {"objects": len(all_objects), "builtin": builtin}
    return report


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Render and validate the GitOps tree")
    parser.add_argument("envs", nargs="*", default=list(inventory.environments()))
    args = parser.parse_args(argv)
    try:
        report = validate(args.envs)
    except gitops.RenderError as exc:
        print(f"validate: {exc}", file=sys.stderr)
        return 2
    for error in report.errors:
        print(error, file=sys.stderr)
    timings = ", ".join(f"{k} {v:.2f} s" for k, v in report.timings.items())
    # CPU seconds as well as wall time: on a shared machine the wall figure
    # measures the neighbours as much as this pipeline.
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    cpu = own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    timings += f" (CPU {cpu:.1f} s)"
    print(
        f"validate: {', '.join(args.envs)}: {report.counts['objects']} objects, "
        f"{len(report.errors)} problem(s); {timings}"
    )
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
