# syntax=docker/dockerfile:1
# The SafeThink proxy: small, no torch, runs as a non-root user.
#
#   docker build -f deploy/proxy.Dockerfile -t safethink/proxy:0.1.0 .
#   docker run -p 8080:8080 -e SAFETHINK_UPSTREAM_URL=http://vllm:8000/v1 \
#       -e SAFETHINK_REWARD=http://reward:8081 safethink/proxy:0.1.0
#
# Extra arguments are appended to the entrypoint, e.g. `... safethink/proxy:0.1.0 --policy none`.
FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
# Base dependencies only (`pip install .`): no `reward` extra, so no torch in this image.
COPY pyproject.toml README.md ./
COPY proxy ./proxy
RUN /opt/venv/bin/pip install . \
    && if /opt/venv/bin/python -c "import torch" 2>/dev/null; then \
         echo "torch must not be in the proxy image" >&2; exit 1; fi

FROM python:3.11-slim-bookworm
LABEL org.opencontainers.image.title="safethink-proxy" \
      org.opencontainers.image.description="OpenAI-compatible guard proxy that steers reasoning models (SafeThink)" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 safethink \
    && useradd --system --uid 10001 --gid safethink --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin safethink
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    HF_HOME=/tmp/huggingface \
    HF_HUB_OFFLINE=1 \
    SAFETHINK_REWARD=http://reward:8081
# HF_HUB_OFFLINE: completions mode loads a tokenizer from a mounted directory or cache, never
# from the network. SAFETHINK_REWARD: the embedded scorer needs torch, which this image lacks.
WORKDIR /app
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=15s --timeout=5s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('SAFETHINK_PORT', '8080') + '/healthz', timeout=4)"]
ENTRYPOINT ["python", "-m", "proxy", "--host", "0.0.0.0"]
