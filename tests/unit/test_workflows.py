"""The GitHub workflows' security promises: deploy secrets only ever meet this
repository's own main branch, and every action runs the exact code that was
reviewed (a commit SHA, since a tag can be moved)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO_ROOT / ".github/workflows").glob("*.yml"))
CD = REPO_ROOT / ".github/workflows/cd.yml"

TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<op>&&|\|\||==|!=|!|\(|\))"
    r"|(?P<name>[A-Za-z_][A-Za-z0-9_.-]*))"
)


def _python_of(expression: str) -> str:
    """A GitHub Actions expression (`==`, `!=`, `!`, `&&`, `||`, parentheses,
    strings, context names) as Python over a lookup function."""
    expression = expression.strip()
    if expression.startswith("${{") and expression.endswith("}}"):
        expression = expression[3:-2]
    out, position = [], 0
    words = {"&&": " and ", "||": " or ", "!": " not ", "true": "True", "false": "False"}
    while position < len(expression.rstrip()):
        match = TOKEN.match(expression, position)
        assert match, f"cannot read the expression at: {expression[position:]!r}"
        position = match.end()
        if match["string"] is not None:
            out.append(repr(match["string"][1:-1].replace("''", "'").lower()))
        elif match["op"] in words or match["name"] in words:
            out.append(words[match["op"] or match["name"]])
        elif match["op"]:
            out.append(match["op"])
        elif match["name"] == "null":
            out.append("None")
        else:
            out.append(f"_ctx({match['name']!r})")
    return "".join(out)


def evaluate(expression: str, context: dict) -> bool:
    """GitHub's semantics where they matter here: a missing property is null and
    string comparison ignores case."""

    def lookup(name: str):
        value = context
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value.lower() if isinstance(value, str) else value

    return bool(eval(_python_of(expression), {"__builtins__": {}}, {"_ctx": lookup}))  # noqa: S307


def cd_job() -> dict:
    (job,) = yaml.safe_load(CD.read_text())["jobs"].values()
    return job


def after_ci(**workflow_run) -> dict:
    run = {
        "conclusion": "success",
        "event": "push",
        "head_branch": "main",
        "head_repository": {"full_name": "titanium/titanium"},
        "head_sha": "0" * 40,
    }
    run.update(workflow_run)
    return {
        "github": {
            "event_name": "workflow_run",
            "repository": "titanium/titanium",
            "ref": "refs/heads/main",
            "event": {"workflow_run": run},
        }
    }


def test_cd_promotes_after_a_green_ci_run_of_a_push_to_this_repositorys_main():
    assert evaluate(cd_job()["if"], after_ci())


@pytest.mark.parametrize(
    "workflow_run",
    [
        # A fork's pull request from a branch it named main: CI runs on it, so
        # workflow_run fires with the fork's head_sha.
        {"event": "pull_request", "head_repository": {"full_name": "mallory/titanium"}},
        {"event": "pull_request"},
        {"event": "pull_request_target"},
        {"head_repository": {"full_name": "mallory/titanium"}},
        {"head_branch": "feature"},
        {"conclusion": "failure"},
    ],
    ids=["fork-pr-from-main", "pr", "pr-target", "fork-repo", "other-branch", "red-ci"],
)
def test_cd_never_runs_for_anything_but_a_push_to_this_repositorys_main(workflow_run):
    assert not evaluate(cd_job()["if"], after_ci(**workflow_run)), (
        f"cd.yml would deploy with secrets for workflow_run {workflow_run}"
    )


def test_cd_by_hand_runs_only_from_main():
    dispatched = {"github": {"event_name": "workflow_dispatch", "ref": "refs/heads/main"}}
    assert evaluate(cd_job()["if"], dispatched)
    dispatched["github"]["ref"] = "refs/heads/feature"
    assert not evaluate(cd_job()["if"], dispatched)


def test_cd_has_no_trigger_that_runs_pull_request_code():
    triggers = yaml.safe_load(CD.read_text())[True]  # PyYAML reads the key `on` as True
    assert set(triggers) == {"workflow_run", "workflow_dispatch"}


def test_cd_keeps_no_git_credentials_in_the_checkout():
    checkouts = [s for s in cd_job()["steps"] if s.get("uses", "").startswith("actions/checkout@")]
    assert checkouts and all(s["with"].get("persist-credentials") is False for s in checkouts)


USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<comment>.*)$", re.M)


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=[w.name for w in WORKFLOWS])
def test_actions_are_pinned_to_a_commit_sha_with_their_tag_as_a_comment(workflow):
    found = list(USES.finditer(workflow.read_text()))
    assert found, f"{workflow.name} uses no action"
    for use in found:
        action, _, version = use["ref"].partition("@")
        assert re.fullmatch(r"[0-9a-f]{40}", version), (
            f"{workflow.name}: {use['ref']} is not pinned to a full commit SHA (a tag can move)"
        )
        assert re.fullmatch(r"\s+#\s+v?\d+\.\d+\.\d+", use["comment"]), (
            f"{workflow.name}: {action}@{version} lacks its release tag as a comment"
        )
