"""An environment's values as the offline tests hand them to the gitops role.

No registry is reachable from these machines, so nothing can be pinned by a
digest read at render time: the tests that render through the role switch both
reads off. test_gitops_playbooks pins by digest against a real registry, and
test_airgap from an air-gap manifest.
"""

from titanium_tools import inventory

NO_REGISTRY_READS = {"image_pin_digests": False, "third_party_pin_digests": False}


def offline_values(env: str) -> dict:
    return {**inventory.values(env), **NO_REGISTRY_READS}
