"""Fixtures of the integration tier.

`sim_cluster` is the simulated Kubernetes cluster of tests/cluster (a real
kube-apiserver, controller-manager and scheduler, kwok nodes), started once per
session; see tests/cluster/README.md.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.cluster.sim import SimCluster


@pytest.fixture(scope="session")
def sim_cluster() -> Iterator[SimCluster]:
    """A running simulated cluster with three Ready nodes, for the session.

    Use `sim_cluster.kubeconfig` (path), `sim_cluster.env()` (environment with
    KUBECONFIG set, for helm/ansible-playbook), `sim_cluster.kubectl(...)`.
    Tests share it: work in a namespace of your own.
    """
    cluster = SimCluster.start()
    try:
        yield cluster
    finally:
        survivors = cluster.stop()
        assert not survivors, f"still running after stop: {survivors}"


@pytest.fixture(scope="session")
def sim_cluster_with_crds(sim_cluster: SimCluster) -> SimCluster:
    """The session cluster with Istio's, Argo CD's and the Prometheus Operator's
    CRDs (build/crds) installed server-side and Established."""
    sim_cluster.install_crds()
    return sim_cluster
