# Runs in the interpreter that runs ansible-playbook (preflight passes it with
# `python -c`). Argument: JSON {"python": min, "libraries": [{name, min_version, why}],
# "tools": [{name, min_version, why}]}.
# Prints JSON {"python": version, "tools": {name: version}, "problems": [text, ...]}.
import json
import platform
import re
import shutil
import subprocess
import sys
from importlib import metadata

from packaging.version import InvalidVersion, Version

# Each tool's own way to print its version; the first x.y[.z] in the output is it.
VERSION_ARGS = {
    "helm": ["version", "--short"],
    "git": ["--version"],
    "kubectl": ["version", "--client"],
}
SETUP_HINT = (
    "run `make setup-operator`, which builds the pinned one into build/bin, "
    "and put build/bin on PATH"
)

wanted = json.loads(sys.argv[1])
problems = []
python = platform.python_version()
if Version(python) < Version(wanted["python"]):
    problems.append(
        f"Python {python} ({sys.executable}) is older than {wanted['python']}: "
        "run ansible-playbook from a newer Python (`make setup-operator` builds .venv)"
    )
for library in wanted["libraries"]:
    need = f" ({library['why']})" if library.get("why") else ""
    try:
        found = metadata.version(library["name"])
    except metadata.PackageNotFoundError:
        problems.append(
            f"Python library {library['name']} >= {library['min_version']} is missing on the "
            f"controller{need}: `make setup-operator`, or pip install -r requirements/python.lock"
        )
        continue
    if Version(found) < Version(library["min_version"]):
        problems.append(
            f"Python library {library['name']} {found} is older than {library['min_version']}"
            f"{need}: `make setup-operator`, or pip install -r requirements/python.lock"
        )

tools = {}
for tool in wanted.get("tools", []):
    name, minimum = tool["name"], tool["min_version"]
    need = f" ({tool['why']})" if tool.get("why") else ""
    path = shutil.which(name)
    if path is None:
        problems.append(f"{name} >= {minimum} is not on the controller's PATH{need}: {SETUP_HINT}")
        continue
    try:
        output = subprocess.run(
            [path, *VERSION_ARGS.get(name, ["--version"])],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        ).stdout
    except (OSError, subprocess.TimeoutExpired) as error:
        problems.append(f"{name} ({path}) did not report its version ({error}){need}: {SETUP_HINT}")
        continue
    match = re.search(r"(\d+\.\d+(?:\.\d+)?)", output)
    try:
        found = Version(match.group(1)) if match else None
    except InvalidVersion:
        found = None
    if found is None:
        problems.append(f"{name} ({path}) printed no version number{need}: {SETUP_HINT}")
        continue
    tools[name] = str(found)
    if found < Version(minimum):
        problems.append(f"{name} {found} ({path}) is older than {minimum}{need}: {SETUP_HINT}")
print(json.dumps({"python": python, "tools": tools, "problems": problems}))
