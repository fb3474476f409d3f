# cnibot image. Checked statically here (no Docker engine on these machines); see tests/test_deploy.py.
FROM python:3.11-slim

ENV PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1 \
    CNIBOT_RUNBOOKS=/app/runbooks \
    CNIBOT_INDEX=/app/index

WORKDIR /app
# torch first, the CPU wheel: otherwise sentence-transformers pulls a multi-GB CUDA build
RUN pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY runbooks ./runbooks
COPY index/README.md ./index/README.md
RUN pip install . && cnibot index build --quiet

RUN useradd --uid 10001 --no-create-home cnibot && chown -R cnibot /app/index
USER 10001
ENTRYPOINT ["cnibot"]
CMD ["run"]
