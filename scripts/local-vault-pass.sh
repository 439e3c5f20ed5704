#!/usr/bin/env bash
# Vault password for inventories/local, as an Ansible vault password script:
#   ansible-playbook ... --vault-password-file scripts/local-vault-pass.sh
# Prints the password kept in build/secrets/local-vault.pass, creating a
# random one the first time. `--path` prints where it lives instead.
set -euo pipefail
file=${TITANIUM_LOCAL_VAULT_PASS:-$(cd "$(dirname "$0")/.." && pwd)/build/secrets/local-vault.pass}
if [[ ${1:-} == --path ]]; then
  echo "$file"
  exit 0
fi
if [[ ! -s $file ]]; then
  mkdir -p "$(dirname "$file")"
  chmod 700 "$(dirname "$file")"
  (umask 077 && openssl rand -hex 32 >"$file")
fi
cat "$file"
