#!/usr/bin/env bash
# Offline checks of the deploy files (run by `make lint`; no Docker engine, cluster or network):
#   hadolint on the Dockerfile; `docker-compose config -q` on docker-compose.yml (with a
#   throw-away .env, since the real one holds secrets and may not exist); promtool on the
#   Prometheus configuration, the alert rules and their unit tests; deploy/k8s/check.py on every
#   Kubernetes manifest. hadolint and kubernetes-validate come with the venv's dev dependencies;
#   docker-compose and promtool from Debian (`.ci/run` installs them when missing).
set -euo pipefail
cd "$(dirname "$0")/.."
venv_bin=${VENV_BIN:-.venv/bin}

require() {
  if ! command -v "$1" > /dev/null; then
    echo "deploy/lint.sh: $1 not found; install it: apt-get install -y $2" >&2
    exit 1
  fi
}
# Runs a command, showing its output only when it fails.
quiet() {
  local output
  if ! output=$("$@" 2>&1); then
    printf '%s\n' "$output" >&2
    echo "deploy/lint.sh: failed: $*" >&2
    return 1
  fi
}

require docker-compose docker-compose
require promtool prometheus

"$venv_bin/hadolint" Dockerfile

compose_dir=$(mktemp -d)
trap 'rm -rf "$compose_dir"' EXIT
printf 'POSTGRES_PASSWORD=lint-only\n' > "$compose_dir/.env"
docker-compose --project-directory "$compose_dir" --file docker-compose.yml --profile monitoring config --quiet

quiet promtool check config deploy/prometheus/prometheus.yml
quiet promtool check rules deploy/prometheus/alerts.yml
quiet promtool test rules deploy/prometheus/alerts_test.yml

"$venv_bin/python" deploy/k8s/check.py
