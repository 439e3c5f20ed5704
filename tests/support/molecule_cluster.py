"""Start and stop molecule/default's own simulated cluster (tests/cluster/sim.py).

A private cluster, not `python -m tests.cluster.sim up`: that one keeps its state
in build/sim/, which `make cluster-sim-up` and other runs on this machine share.
Here the state and the kubeconfig live in Molecule's ephemeral directory.

    python -m tests.support.molecule_cluster up|down EPHEMERAL_DIRECTORY

run from the repository root (molecule/default/create.yml and destroy.yml do).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.cluster.sim import SimCluster, crds_dir, stop_saved


def up(state_dir: Path) -> int:
    state = state_dir / "sim-state.json"
    if state.exists():
        print(f"already up: {SimCluster.load(state).server}")
        return 0
    cluster = SimCluster.start(kubeconfig=state_dir / "kubeconfig", timeout=120)
    try:
        # Only Argo CD's CRDs: the scenario's converge applies an AppProject and an
        # Application, and nothing of Istio's or the Prometheus Operator's.
        cluster.install_crds(crds_dir() / "argocd")
    except BaseException:
        cluster.stop()
        raise
    cluster.save(state)
    print(f"up in {cluster.started_in} s: {cluster.server}")
    return 0


def down(state_dir: Path) -> int:
    return stop_saved(state_dir / "sim-state.json")


if __name__ == "__main__":
    command, directory = sys.argv[1], Path(sys.argv[2])
    directory.mkdir(parents=True, exist_ok=True)
    sys.exit({"up": up, "down": down}[command](directory))
