#!/bin/sh
# Container entrypoint: `web` migrates then serves with daphne; `ingest` runs the ingestion loop;
# `static` collects static files for nginx; anything else is run as given.
set -eu
case "${1:-web}" in
  web)
    python manage.py migrate --no-input
    exec daphne -v 0 -b 0.0.0.0 -p 8000 --proxy-headers gpubroker.asgi:application
    ;;
  ingest)
    exec python manage.py sync_providers --loop --interval "${PROVIDER_SYNC_INTERVAL_SECONDS:-300}"
    ;;
  static)
    exec python manage.py collectstatic --no-input
    ;;
  *)
    exec "$@"
    ;;
esac
