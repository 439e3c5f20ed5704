#!/usr/bin/env bash
# make test-fast: what a developer runs before every commit, in under a minute.
# Lints only the files that changed, then runs the unit tier (tests/unit: no
# process, no server). `make test` still runs every linter on every file, the
# collection's sanity and every tier.
#
# "Changed" is, when the branch has an upstream to compare with (origin/main):
#   every file that differs from `git merge-base HEAD origin/main`, committed or
#   not, plus untracked files: what a pull request would carry;
# and otherwise (a checkout without a remote, like the build machines'):
#   the working tree's changes (staged or not), untracked files, and the last
#   commit's files: what you are about to commit and what you just did.
# Deleted files are left out. FAST_BASE=<commit> compares with that commit instead.
set -euo pipefail

start_ms=$(($(date +%s%N) / 1000000))
report() {
  local rc=$? ms=$(($(date +%s%N) / 1000000 - start_ms))
  printf 'test-fast: %s in %d.%d s\n' "$( ((rc == 0)) && echo passed || echo "FAILED (rc=$rc)")" \
    $((ms / 1000)) $((ms % 1000 / 100))
}
trap report EXIT
cd "$(git rev-parse --show-toplevel)"

if [[ -n ${FAST_BASE:-} ]]; then
  base=$FAST_BASE
elif git rev-parse --verify -q origin/main >/dev/null; then
  base=$(git merge-base HEAD origin/main)
elif git rev-parse --verify -q HEAD~1 >/dev/null; then
  base=HEAD~1
else
  base=HEAD
fi

mapfile -t changed < <(
  {
    git diff --name-only --diff-filter=d "$base"
    git ls-files --others --exclude-standard
  } | sort -u
)
echo "test-fast: ${#changed[@]} file(s) changed since $(git rev-parse --short "$base")"

pick() { # pick REGEX: the changed files whose path matches REGEX and still exist
  local file
  for file in "${changed[@]}"; do
    [[ $file =~ $1 && -f $file ]] && printf '%s\n' "$file"
  done
  return 0
}

mapfile -t python < <(pick '\.py$')
mapfile -t yaml < <(pick '\.ya?ml$')
# What ansible-lint judges: its .ansible-lint excludes the rest of the tree.
mapfile -t ansible < <(pick '^(site\.yml|playbooks/|roles/|inventories/|molecule/|meta/|galaxy\.yml)')

if ((${#python[@]})); then
  echo "test-fast: ruff on ${#python[@]} Python file(s)"
  ruff check --force-exclude "${python[@]}"
  ruff format --check --force-exclude "${python[@]}"
fi
if ((${#yaml[@]})); then
  echo "test-fast: yamllint on ${#yaml[@]} YAML file(s)"
  yamllint --strict "${yaml[@]}"
fi
if ((${#ansible[@]})); then
  echo "test-fast: ansible-lint on ${#ansible[@]} file(s)"
  ansible-lint --strict "${ansible[@]}"
fi

echo "test-fast: unit tier"
pytest tests/unit -q ${PYTEST_ARGS:-}
