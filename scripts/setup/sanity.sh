#!/usr/bin/env bash
# Lets `ansible-test sanity` (make sanity) run here. It builds a virtualenv per
# sanity test and first fetches a pip bootstrap script from
# ci-files.testing.ansible.com, which this network does not reach; what it finds
# in its cache instead is this one: the interpreter's own pip (ensurepip), which
# then installs the pip ansible-test asked for from PyPI. ansible-test clears the
# pip configuration (PIP_CONFIG_FILE=/dev/null), so the CA bundle that lets pip
# reach PyPI through this network's proxy is passed on the command line; pip
# from 24.2 on trusts the system store by itself.
set -euo pipefail
python=${1:-.venv/bin/python}
pip_version=$("$python" - <<'PY'
from ansible_test._internal.python_requirements import get_venv_packages
from ansible_test._internal.host_configs import NativePythonConfig
import sys
print(get_venv_packages(NativePythonConfig(version=f"{sys.version_info[0]}.{sys.version_info[1]}"))["pip"])
PY
)
cert=${PIP_CERT:-${SSL_CERT_FILE:-/etc/ssl/certs/ca-certificates.crt}}
cache=$HOME/.ansible/test/cache
mkdir -p "$cache"
target="$cache/get_pip_${pip_version//./_}.py"
cat >"$target.new" <<PY
# Written by Titanium's scripts/setup/sanity.sh; ansible-test runs it as its pip bootstrap.
import ensurepip
import subprocess
import sys

ensurepip.bootstrap()
# The bundled pip knows neither option; setuptools and wheel are not wanted anyway.
requested = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install", "--cert", "$cert", *requested]))
PY
mv "$target.new" "$target"
