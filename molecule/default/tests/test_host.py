"""The controller's side of the converge: the kubeconfig it adopted, the vault
files, and the GitOps repository it seeded."""

from __future__ import annotations

import re

import yaml


def test_kubeconfig_is_private_and_has_the_scenario_context(scenario, host):
    kubeconfig = host.file(scenario.kubeconfig)
    assert kubeconfig.is_file
    assert kubeconfig.mode == 0o600
    contexts = yaml.safe_load(kubeconfig.content_string)["contexts"]
    assert scenario.context in [context["name"] for context in contexts]


def test_vault_files_are_private_generated_values(scenario, host, vaulted_names):
    assert host.file(scenario.vault_dir).mode == 0o700
    for name in vaulted_names:
        path = scenario.vault_file(name)
        assert host.file(path).mode == 0o600, path
        generated = re.fullmatch(r"[A-Za-z0-9]{32}", scenario.vaulted(name)) is not None
        assert generated, f"{path} does not hold a generated 32-character value"


def test_repository_holds_one_seed_commit_on_main(scenario):
    # One commit: the idempotence run found the tree up to date and pushed nothing.
    assert scenario.git("rev-list", "--count", "main").strip() == "1"
    assert scenario.git("symbolic-ref", "HEAD").strip() == "refs/heads/main"


def test_repository_holds_what_the_root_application_reads(scenario):
    tree = scenario.git("ls-tree", "-r", "--name-only", "main").splitlines()
    environment = scenario.environment
    assert f"argocd/{environment}/root.yaml" in tree
    assert f"argocd/{environment}/projects.yaml" in tree
    assert f"argocd/{environment}/sync-identities.yaml" in tree
    assert f"services/overlays/{environment}/kustomization.yaml" in tree


def test_repository_never_holds_a_vaulted_value(scenario, host, vaulted_names):
    for name in vaulted_names:
        # git grep exits 1 when nothing matches. Only the status is asserted on, so
        # that a failure report never prints the command and with it the value.
        status = host.run(
            "git --git-dir %s grep -q -F -e %s main", scenario.repo_dir, scenario.vaulted(name)
        ).rc
        assert status == 1, f"the value of {name} is in the GitOps repository"
