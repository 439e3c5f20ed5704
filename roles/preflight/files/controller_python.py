# Runs in the interpreter that runs ansible-playbook (preflight passes it with
# `python -c`). Argument: JSON {"python": min, "libraries": [{name, min_version, why}]}.
# Prints JSON {"python": version, "problems": [text, ...]}.
import json
import platform
import sys
from importlib import metadata

from packaging.version import Version

wanted = json.loads(sys.argv[1])
problems = []
python = platform.python_version()
if Version(python) < Version(wanted["python"]):
    problems.append(
        f"Python {python} ({sys.executable}) is older than {wanted['python']}: "
        "run ansible-playbook from a newer Python (`make setup` builds .venv)"
    )
for library in wanted["libraries"]:
    need = f" ({library['why']})" if library.get("why") else ""
    try:
        found = metadata.version(library["name"])
    except metadata.PackageNotFoundError:
        problems.append(
            f"Python library {library['name']} >= {library['min_version']} is missing on the "
            f"controller{need}: `make setup`, or pip install -r requirements/python.lock"
        )
        continue
    if Version(found) < Version(library["min_version"]):
        problems.append(
            f"Python library {library['name']} {found} is older than {library['min_version']}"
            f"{need}: `make setup`, or pip install -r requirements/python.lock"
        )
print(json.dumps({"python": python, "problems": problems}))
