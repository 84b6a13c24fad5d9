# One image for every function and the task worker. Each Knative Service picks its function with
# `python -m shared.http.server --target/--source` (functions-framework's CLI with Shoal's worker class;
# knative/services.yaml); task Jobs run
# `python /app/functions/worker/main.py` (shared/executor/kubernetes.py).
# `docker build --target runtimes -t ghcr.io/shoal-dev/shoal-runtimes:0.1.0 .`: the worker image of
# coding-agent tasks (SHOAL_RUNTIME_IMAGE; docs/agents.md): Shoal plus git, Node.js and the CLIs pinned
# in runtimes/package.json. The default target (the last stage) is the image of every function.
# `make image` builds both, named by deploy/base/kustomization.yaml (`images:`), the manifests' one place.
# The base is pinned to a patch release; pin its digest too (`python:3.11.13-slim-bookworm@sha256:…`)
# where builds must be reproducible. Both stages run as uid 10001 and keep no compiler.
ARG PYTHON_BASE=python:3.11.13-slim-bookworm
FROM ${PYTHON_BASE} AS runtimes
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 SHOAL_RUNTIMES_DIR=/opt/shoal-runtimes HOME=/home/shoal
RUN apt-get update && apt-get install -y --no-install-recommends git nodejs npm ca-certificates \
    && rm -rf /var/lib/apt/lists/*
COPY runtimes/package.json runtimes/package-lock.json /opt/shoal-runtimes/
RUN npm ci --prefix /opt/shoal-runtimes --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY functions ./functions
COPY shoal_cli ./shoal_cli
RUN pip install --no-cache-dir . && useradd --uid 10001 --create-home --home-dir /home/shoal shoal
USER 10001
CMD ["python", "/app/functions/worker/main.py"]

FROM ${PYTHON_BASE} AS shoal
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PORT=8080
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY functions ./functions
COPY shoal_cli ./shoal_cli
RUN pip install --no-cache-dir . && useradd --uid 10001 --no-create-home shoal
USER 10001
EXPOSE 8080
CMD ["python", "-m", "shared.http.server", "--target=meta", "--source=functions/meta/main.py"]
