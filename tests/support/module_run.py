"""Running a module's main() in this process, the way ansible-test's unit tests do:
its arguments through ansible.module_utils.testing.patch_module_args, its JSON
result read from what it prints before it exits. No ansible process, no AnsiballZ;
tests/support/ansible_run.py runs modules for real."""

from __future__ import annotations

import contextlib
import io
import json
from collections.abc import Callable

from ansible.module_utils.testing import patch_module_args


def run_module_main(
    main: Callable[[], None], args: dict, *, check: bool = False, diff: bool = False
) -> tuple[int, dict]:
    """(exit code, result) of a module's `main` run with `args`, in check and diff mode
    when asked."""
    out, code = io.StringIO(), 0
    flags = {"_ansible_check_mode": check, "_ansible_diff": diff}
    with patch_module_args({**args, **flags}), contextlib.redirect_stdout(out):
        try:
            main()
        except SystemExit as exited:
            code = exited.code or 0
    text = out.getvalue()
    return code, json.loads(text[text.index("{") :])
