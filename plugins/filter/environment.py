# Copyright: Titanium contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Whether a name can be an environment's: preflight asks the renderer's own
rule, so the run stops before any change for a name the gitops phase would
refuse after the cluster and the platform were set up."""

from __future__ import annotations

from ansible_collections.titanium.platform.plugins.module_utils.gitops_render import (
    RenderError,
    check_environment,
)


def environment_name_problem(name: object) -> str:
    """What is wrong with `name` as an environment's name; "" when nothing is."""
    try:
        check_environment(name)
    except RenderError as error:
        return str(error)
    return ""


class FilterModule:
    def filters(self):
        return {"environment_name_problem": environment_name_problem}
