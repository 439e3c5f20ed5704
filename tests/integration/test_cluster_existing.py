"""playbooks/cluster.yml with provider `existing` against the simulated cluster
(a real kube-apiserver, tests/cluster): preflight reads its version, the k3s
role adopts it through the kubeconfig and context, nothing changes — in check
mode, on the first run and on the second."""

from __future__ import annotations

import re

import pytest

from tests.support.ansible_run import recap, run_playbook, write_vault_values


@pytest.fixture(scope="module")
def adopt_args(sim_cluster, vault_values) -> list[str]:
    return [
        "playbooks/cluster.yml",
        "-i",
        "inventories/local",
        "-e",
        f"@{vault_values}",
        "-e",
        f"k3s_provider=existing k3s_kubeconfig={sim_cluster.kubeconfig} k3s_context=titanium-sim",
    ]


@pytest.fixture(scope="module")
def vault_values(tmp_path_factory):
    return write_vault_values(tmp_path_factory.mktemp("vault") / "values.json")


def test_check_mode_then_two_runs_adopt_the_cluster_and_change_nothing(adopt_args, sim_cluster):
    for extra in (["--check", "--diff"], [], []):
        result = run_playbook(*adopt_args, *extra, check=True)
        version = re.search(r"provider existing, Kubernetes (v[0-9.]+)", result.stdout)
        assert version, result.stdout[-3000:]
        ready = re.search(r"(\d+) Ready node\(s\)", result.stdout)
        assert ready and int(ready.group(1)) == len(sim_cluster.ready_nodes())
        assert all(counts["changed"] == 0 for counts in recap(result.stdout).values()), extra
