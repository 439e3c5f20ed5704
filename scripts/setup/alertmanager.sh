#!/usr/bin/env bash
# Builds the Alertmanager release the monitoring role's chart deploys
# (monitoring_alertmanager_version in the versions role) from its Go module, into
# a cache outside the work tree keyed by that version, and links it into
# build/bin as `alertmanager`. The observability tier routes and delivers alerts
# through it, with the role's own configuration too (Debian's 0.25 cannot read
# a webhook URL from a file).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=versions.sh
source scripts/setup/versions.sh
cache=${TITANIUM_CACHE:-$HOME/.cache/titanium}
bin="$cache/alertmanager/$ALERTMANAGER_VERSION"
# The release builds with the machine's Go; never fetch another silently.
export GOTOOLCHAIN=local
if [[ ! -x $bin/alertmanager ]]; then
  echo "setup: building Alertmanager $ALERTMANAGER_VERSION into $bin"
  rm -rf "$bin.partial" && mkdir -p "$bin.partial"
  # What `alertmanager --version` reports.
  ld="-s -w -X github.com/prometheus/common/version.Version=${ALERTMANAGER_VERSION#v}"
  GOBIN="$bin.partial" CGO_ENABLED=0 go install -trimpath -ldflags "$ld" \
    "github.com/prometheus/alertmanager/cmd/alertmanager@$ALERTMANAGER_VERSION"
  mkdir -p "$bin" && mv "$bin.partial/alertmanager" "$bin/alertmanager" && rmdir "$bin.partial"
fi
mkdir -p build/bin
ln -sfn "$bin/alertmanager" build/bin/alertmanager
