# syntax=docker/dockerfile:1
# The SafeThink reward service (the scorer), non-root.
#
#   CUDA (default; torch's PyPI wheel carries the CUDA runtime, the host needs only the NVIDIA
#   driver and the NVIDIA container toolkit):
#     docker build -f deploy/reward.Dockerfile -t safethink/reward:0.1.0-cuda .
#   CPU (the default cross-encoder backend, runs anywhere; torch's CPU build):
#     docker build -f deploy/reward.Dockerfile --build-arg DEVICE=cpu -t safethink/reward:0.1.0-cpu .
#
# The guard model is either mounted at run time (a read-only volume on /models, and
# SAFETHINK_REWARD_MODEL=/models/<dir>) or baked in at build time from the Hugging Face hub:
#     docker build -f deploy/reward.Dockerfile --build-arg MODEL_ID=meta-llama/Llama-Guard-3-8B \
#         --secret id=hf_token,env=HF_TOKEN -t safethink/reward:0.1.0-llama-guard .
# which stores it in /opt/safethink/model and points SAFETHINK_REWARD_MODEL there.
FROM python:3.11-slim-bookworm AS build
# cuda or cpu: which torch build to install.
ARG DEVICE=cuda
ARG TORCH_VERSION=2.13.0
# Empty: PyPI's wheel for cuda, PyTorch's CPU index for cpu. Set it to pick another CUDA build.
ARG TORCH_INDEX_URL=
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/venv
RUN set -eu; \
    case "$DEVICE" in \
      cuda) index="${TORCH_INDEX_URL}" ;; \
      cpu) index="${TORCH_INDEX_URL:-https://download.pytorch.org/whl/cpu}" ;; \
      *) echo "DEVICE must be cuda or cpu, not $DEVICE" >&2; exit 1 ;; \
    esac; \
    if [ -n "$index" ]; then \
      /opt/venv/bin/pip install --index-url "$index" "torch==${TORCH_VERSION}"; \
    else \
      /opt/venv/bin/pip install "torch==${TORCH_VERSION}"; \
    fi
COPY pyproject.toml README.md ./
COPY reward_service ./reward_service
# torch is already there, so the `reward` extra keeps the build chosen above.
RUN /opt/venv/bin/pip install ".[reward]"

# Optionally bake a guard model into the image (see the header).
ARG MODEL_ID=
ARG MODEL_REVISION=main
RUN --mount=type=secret,id=hf_token,required=false set -eu; \
    mkdir -p /opt/safethink/model; \
    if [ -n "$MODEL_ID" ]; then \
      token=""; if [ -f /run/secrets/hf_token ]; then token="$(cat /run/secrets/hf_token)"; fi; \
      HF_TOKEN="$token" /opt/venv/bin/python -c "import sys; from huggingface_hub import snapshot_download; snapshot_download(sys.argv[1], revision=sys.argv[2], local_dir='/opt/safethink/model')" "$MODEL_ID" "$MODEL_REVISION"; \
    fi

FROM python:3.11-slim-bookworm
ARG MODEL_ID=
LABEL org.opencontainers.image.title="safethink-reward" \
      org.opencontainers.image.description="SafeThink reward service: scores reasoning steps for safety" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 safethink \
    && useradd --system --uid 10001 --gid safethink --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin safethink
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=10001:10001 /opt/safethink/model /opt/safethink/model
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    HF_HOME=/tmp/huggingface \
    HF_HUB_OFFLINE=1 \
    NVIDIA_VISIBLE_DEVICES=all \
    NVIDIA_DRIVER_CAPABILITIES=compute,utility \
    SAFETHINK_REWARD_MODEL=${MODEL_ID:+/opt/safethink/model}
WORKDIR /app
USER 10001:10001
EXPOSE 8081
# Healthy once the model is loaded: /readyz answers 503 until then. A large guard takes minutes.
HEALTHCHECK --interval=15s --timeout=5s --start-period=600s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('SAFETHINK_REWARD_PORT', '8081') + '/readyz', timeout=4)"]
ENTRYPOINT ["python", "-m", "reward_service", "--host", "0.0.0.0"]
