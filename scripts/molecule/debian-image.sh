#!/usr/bin/env bash
# Builds a Debian 12 image without pulling from any registry: debootstrap a
# bookworm minbase, add the packages asked for, and `podman import` it. The root
# filesystem tarball is cached under $TITANIUM_CACHE, so a second run only
# re-imports (or does nothing when the image is already there).
#
#   debian-image.sh                      Molecule's managed-host image (below)
#   debian-image.sh IMAGE PACKAGE...     any other, e.g. scripts/services/base-image.sh
set -euo pipefail

if (($# > 0)); then
  image=$1
  shift
  packages=("$@")
else
  image=${TITANIUM_DEBIAN_IMAGE:-localhost/titanium-debian:12}
  # python3 for Ansible itself, python3-apt for ansible.builtin.apt,
  # ca-certificates and procps because the k3s role needs them (so Molecule
  # never reaches for a package mirror), systemd and systemd-sysv so the
  # container can boot systemd as PID 1 and the role can run k3s as a service.
  packages=(python3 python3-apt ca-certificates procps systemd systemd-sysv)
fi
cache=${TITANIUM_CACHE:-$HOME/.cache/titanium}/images
name=${image##*/}
tarball=$cache/${name//:/-}.tar
# Changing the package list rebuilds.
stamp=$(printf '%s\n' bookworm minbase "${packages[@]}" | sha256sum | cut -c1-16)
# One build of an image at a time: parallel test workers (pytest -n) may ask for
# the same base at once, and would write one tarball and retag one image twice.
mkdir -p "$cache"
exec 9>"$cache/${name//:/-}.lock"
flock 9

if podman image exists "$image" &&
  [[ $(podman image inspect --format '{{ index .Labels "titanium.stamp" }}' "$image" 2>/dev/null) == "$stamp" ]]; then
  exit 0
fi

if [[ ! -s $tarball || ! -s $tarball.stamp || $(cat "$tarball.stamp") != "$stamp" ]]; then
  mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -m1 '/debian$' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  root=$(mktemp -d "${TMPDIR:-/tmp}/titanium-rootfs.XXXXXX")
  trap 'rm -rf "$root" "$root.log"' EXIT
  echo "debian-image: $image: debootstrap bookworm from $mirror (once; cached in $cache)"
  debootstrap --variant=minbase bookworm "$root" "$mirror" >"$root.log" 2>&1 ||
    { tail -n 30 "$root.log" >&2; exit 1; }
  chroot "$root" /usr/bin/env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" \
    >"$root.log" 2>&1 || { tail -n 30 "$root.log" >&2; exit 1; }
  chroot "$root" apt-get clean
  rm -f "$root.log"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/tmp/* "$root"/var/log/*.log
  tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  echo "$stamp" >"$tarball.stamp"
fi

previous=$(podman image inspect --format '{{ .Id }}' "$image" 2>/dev/null || true)
podman import --quiet --change "LABEL titanium.stamp=$stamp" --change 'CMD ["sleep", "infinity"]' \
  "$tarball" "$image" >/dev/null
if [[ -n $previous ]]; then
  podman rmi "$previous" >/dev/null 2>&1 || true # still used by a container: leave it
fi
echo "debian-image: imported $image"
