#!/bin/sh
# Container entrypoint (docs/deploy.md). One image, one role per container:
#   migrate  apply migrations, then create the first operator (below); run once per release,
#            before web and ingest start (compose's `migrate` service, the Kubernetes Job)
#   operator only create the first operator
#   web      serve HTTP and WebSockets with daphne on ${BIND_ADDRESS:-0.0.0.0}:${PORT:-8000};
#            it does not migrate, because several replicas start at once
#   ingest   the ingestion loop: each provider on its cadence (PROVIDER_SYNC_INTERVALS), several
#            at once (INGEST_CONCURRENCY); SIGTERM lets running syncs finish (INGEST_STOP_GRACE_SECONDS)
#   static   collect static files for nginx into STATIC_ROOT
#   anything else is run as given (e.g. `python manage.py createsuperuser`)
set -eu

# Exit 0 when a user with this email exists (emails are stored lower-cased), 3 when none does;
# anything else is an error (no database, …) and stops the entrypoint.
OPERATOR_EXISTS='
import os, sys
from django.contrib.auth import get_user_model
email = os.environ["DJANGO_SUPERUSER_EMAIL"]
sys.exit(0 if get_user_model()._default_manager.filter(email__iexact=email).exists() else 3)
'

# The first operator, non-interactively, from DJANGO_SUPERUSER_EMAIL / DJANGO_SUPERUSER_PASSWORD
# (Django's `createsuperuser --no-input` reads them; DJANGO_SUPERUSER_FULL_NAME defaults to the
# email). Idempotent: an existing user with that email is left exactly as it is (its password
# included), so the variables can stay set across releases.
operator_bootstrap() {
  if [ -z "${DJANGO_SUPERUSER_EMAIL:-}" ] || [ -z "${DJANGO_SUPERUSER_PASSWORD:-}" ]; then
    echo "entrypoint: DJANGO_SUPERUSER_EMAIL/DJANGO_SUPERUSER_PASSWORD not both set; no operator created"
    return 0
  fi
  status=0
  python manage.py shell -c "$OPERATOR_EXISTS" || status=$?
  case "$status" in
    0)
      echo "entrypoint: operator ${DJANGO_SUPERUSER_EMAIL} exists; left unchanged"
      ;;
    3)
      DJANGO_SUPERUSER_FULL_NAME="${DJANGO_SUPERUSER_FULL_NAME:-$DJANGO_SUPERUSER_EMAIL}" \
        python manage.py createsuperuser --no-input
      ;;
    *)
      return "$status"
      ;;
  esac
}

# Probes and Prometheus reach each replica by its own address, not the public host name: the
# image's HEALTHCHECK by 127.0.0.1, the kubelet and Prometheus by the pod's (container's) IP.
# Django refuses any Host outside ALLOWED_HOSTS, so those addresses are added to the list the
# operator set (an unset list stays unset: production refuses to start without one).
allow_own_addresses() {
  if [ -z "${ALLOWED_HOSTS:-}" ]; then
    return 0
  fi
  own="127.0.0.1,localhost"
  for address in $(hostname -i 2>/dev/null || true); do
    case "$address" in
      *:*) own="$own,[$address]" ;;
      *) own="$own,$address" ;;
    esac
  done
  ALLOWED_HOSTS="$ALLOWED_HOSTS,$own"
  export ALLOWED_HOSTS
}

case "${1:-web}" in
  migrate)
    python manage.py migrate --no-input
    operator_bootstrap
    ;;
  operator)
    operator_bootstrap
    ;;
  web)
    allow_own_addresses
    # -v 0: the application writes one JSON line per request; daphne's access log would repeat
    # it. The client address behind nginx comes from TRUSTED_PROXY_IPS, not --proxy-headers.
    # gpubroker.httpserver is daphne answering the requests it refuses itself (oversized
    # headers, malformed HTTP) with the JSON envelope instead of a bare 400 or a dropped socket.
    exec python -m gpubroker.httpserver -v 0 -b "${BIND_ADDRESS:-0.0.0.0}" -p "${PORT:-8000}" gpubroker.asgi:application
    ;;
  ingest)
    exec python manage.py sync_providers --loop
    ;;
  static)
    exec python manage.py collectstatic --no-input
    ;;
  *)
    exec "$@"
    ;;
esac
