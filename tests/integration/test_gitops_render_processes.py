"""The render CLI (python -m titanium_tools.render) run as separate processes:
whatever the hash seed, the tree is byte for byte the same. The render's logic
in this process: tests/unit/plugins/module_utils/test_gitops_render.py."""

from __future__ import annotations

import os
import subprocess
import sys

from ansible_collections.titanium.platform.plugins.module_utils import gitops_render as gitops


def test_renders_in_separate_processes_are_byte_identical(tmp_path):
    outputs = []
    RENDERER = "titanium_tools.render"
    for seed in ("1", "4242"):
        out = tmp_path / seed
        subprocess.run(
            [sys.executable, "-m", RENDERER, "staging", "--out", str(out)],
            cwd=gitops.DEFAULT_SOURCE.parent,
            env={**os.environ, "PYTHONHASHSEED": seed},
            check=True,
            capture_output=True,
        )
        outputs.append({p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()})
    assert outputs[0] and outputs[0] == outputs[1]
