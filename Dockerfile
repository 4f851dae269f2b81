# syntax=docker/dockerfile:1
# WLCC bot image: `docker build -t wlcc-bot .`, or `docker compose up -d` with compose.yaml.
# No secret is baked in: settings come from the environment (compose's env_file: .env).

ARG PYTHON_IMAGE=python:3.11-slim
ARG NODE_IMAGE=node:20-slim

# --- assets: the console's front-end files, from the npm registry by package-lock.json ---
# Only the runtime dependencies (Leaflet; axe-core is for the browser tests), no install scripts.
FROM ${NODE_IMAGE} AS assets
WORKDIR /assets
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && mkdir -p leaflet \
 && cp -R node_modules/leaflet/dist/leaflet.js node_modules/leaflet/dist/leaflet.css \
        node_modules/leaflet/dist/images leaflet/

# --- builder: a virtualenv with the pinned dependencies and the project, no build tools kept ---
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, in a layer of their own: rebuilt only when the pins or the ranges change.
COPY constraints.txt pyproject.toml ./
RUN pip install -c constraints.txt pip setuptools wheel \
 && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install -c constraints.txt -r /tmp/requirements.txt

# Then the project itself (not editable: the runtime image has no source tree). .dockerignore
# keeps tests, benchmarks, caches, databases, .env, node_modules and a developer's copied vendor
# files out; pyproject.toml picks the packages and their data files, Leaflet among them (served
# by the app, never from a CDN: the console works on a local network without internet).
COPY . .
COPY --from=assets /assets/leaflet console/static/vendor/leaflet/
RUN pip install -c constraints.txt --no-build-isolation --no-deps . \
 && pip uninstall -y setuptools wheel \
 && python -I -c "import app, scheduler, cli.main, storage.migrate" \
 && python -I -c "import pathlib, sysconfig; p = pathlib.Path(sysconfig.get_paths()['purelib'], 'console/static/vendor/leaflet/leaflet.js'); assert p.is_file(), f'{p} is missing'"

# --- runtime: python:3.11-slim, the venv, a non-root user and a writable /data ---
FROM ${PYTHON_IMAGE} AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    DATABASE_URL=sqlite:////data/wlcc.db

RUN groupadd --system --gid 10001 wlcc \
 && useradd --system --uid 10001 --gid wlcc --home-dir /home/wlcc --create-home \
        --shell /usr/sbin/nologin wlcc \
 && mkdir -p /data \
 && chown wlcc:wlcc /data

COPY --from=builder /opt/venv /opt/venv

WORKDIR /home/wlcc
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000

# Liveness and database reachability; curl is not in the slim image, so Python's urllib.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]

# `wlcc serve` migrates the database first, then serves app:app with uvicorn.
# Other commands: `docker run --rm IMAGE db upgrade`, `... members import /data/members.csv`.
ENTRYPOINT ["wlcc"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
