#!/usr/bin/env bash
# Makes the checkout importable as the titanium.platform collection: Ansible
# (collections_path in ansible.cfg) and Python (pytest's pythonpath) look for
# ansible_collections/titanium/platform under build/collections. A link, not a
# copy, so an edit in the checkout is what the next run uses.
set -euo pipefail
namespace_dir=build/collections/ansible_collections/titanium
mkdir -p "$namespace_dir"
# Relative, so the link survives the checkout being moved or cloned elsewhere.
ln -sfn ../../../.. "$namespace_dir/platform"
[[ -f $namespace_dir/platform/galaxy.yml ]] || {
  echo "setup: $namespace_dir/platform does not lead to the repository root" >&2
  exit 1
}
