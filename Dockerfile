# syntax=docker/dockerfile:1
# Multi-stage image for GPUBROKER v2: build wheels once, run as an unprivileged user under daphne.
FROM python:3.12-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml requirements.lock ./
COPY backend ./backend
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install --upgrade pip \
 && /opt/venv/bin/pip install -c requirements.lock .

FROM python:3.12-slim AS runtime
# PYTHONPATH: the source tree (with its data files: GPU catalogue, recorded provider responses)
# is what runs, whichever entry point (manage.py, daphne) starts the process.
# GLIBC_TUNABLES: huge pages for Argon2's 64 MiB per login (gpubroker/malloc.py).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONPATH=/app/backend \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    DJANGO_SETTINGS_MODULE=gpubroker.settings.production \
    SERVE_STATIC=false \
    GLIBC_TUNABLES=glibc.malloc.hugetlb=1
# A numeric user (10001) so Kubernetes' runAsNonRoot can check it without reading /etc/passwd.
RUN groupadd --system --gid 10001 gpubroker \
 && useradd --system --create-home --uid 10001 --gid 10001 gpubroker
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY --chown=10001:10001 backend /app/backend
COPY --chown=10001:10001 docker/entrypoint.sh /app/entrypoint.sh
WORKDIR /app/backend
USER 10001:10001
EXPOSE 8000
# For the `web` role (compose and `docker run`); Kubernetes uses its own probes.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["/app/entrypoint.sh"]
CMD ["web"]
