#!/usr/bin/env bash
# Installs the Debian packages in requirements/apt.txt. Asks apt only when one
# is missing, so a second `make setup` costs one dpkg-query.
set -euo pipefail
list=${1:-requirements/apt.txt}
mapfile -t wanted < <(sed -e 's/#.*//' -e '/^[[:space:]]*$/d' "$list")
missing=()
for pkg in "${wanted[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [[ $status == installed ]] || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
  exit 0
fi
SUDO=()
if [[ $(id -u) -ne 0 ]] && command -v sudo >/dev/null; then
  SUDO=(sudo -n)
elif [[ $(id -u) -ne 0 ]]; then
  echo "setup: missing Debian packages: ${missing[*]}; run 'make setup' as root or install them with apt-get" >&2
  exit 1
fi
echo "setup: installing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
