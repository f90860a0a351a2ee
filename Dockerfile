# Multi-stage: the build stage trains (with the quality gate); the final stage carries only the artifact,
# the serving code and the serving dependencies. Works with the classic builder and with BuildKit.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# SOURCE=alpaca trains on live bars, hourly by default; SOURCE=embedded on the shipped daily history (offline).
ARG SOURCE=alpaca
# PAIRS: comma-separated, one model each; empty means train.py's default (the pairs with embedded history).
ARG PAIRS=""
# TIMEFRAME: 1Hour or 1Day; empty means train.py's default for the source (1Hour for alpaca, 1Day embedded).
ARG TIMEFRAME=""
# UNTIL fixes the instant training pretends it is: a day or an ISO 8601 date-time (the workflow passes the run's
# instant truncated to the hour, 2026-11-25T06:00:00Z); only bars closed by then are used. Empty means now.
ARG UNTIL=""
ARG GIT_COMMIT=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /build
COPY requirements.txt requirements-api.txt ./
RUN python -m pip install --no-cache-dir -r requirements.txt
COPY train.py ./
COPY data ./data
COPY cryptopredict ./cryptopredict
# data/previous-model, when the workflow provides it, is the model being served. Between weekly refits train.py
# re-anchors each pair's stored Prophet model from there at the newest close; a pair that fails its fetch or its
# gate keeps its model from there while the others update (train.py exits 4). If no pair updates, train.py
# exits 1 or 3 and the build fails: no image is made from a model worse than the gate.
# data/cache/bars.sqlite is the bar store of earlier runs (the workflow restores it), so only new bars are
# fetched; the updated store stays in this stage for the workflow to save again.
RUN if [ -d data/previous-model ]; then cp -r data/previous-model /build/model; fi; \
    GIT_COMMIT="${GIT_COMMIT}" PAIRS="${PAIRS}" python train.py --source "${SOURCE}" \
        ${TIMEFRAME:+--timeframe "${TIMEFRAME}"} ${UNTIL:+--until "${UNTIL}"} \
        --bar-store /build/data/cache/bars.sqlite --model-dir /build/model --report /build/model-report.html \
    || [ "$?" -eq 4 ]

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PORT=8080 HOST=0.0.0.0 MODEL_DIR=/app/model
WORKDIR /app
COPY requirements-api.txt ./
RUN python -m pip install --no-cache-dir --disable-pip-version-check -r requirements-api.txt
COPY api.py ./
# The standard-library modules the serving side imports (not cryptopredict/training).
COPY cryptopredict/__init__.py cryptopredict/settings.py cryptopredict/artifact.py cryptopredict/forecast.py \
     cryptopredict/timeframe.py cryptopredict/dates.py cryptopredict/manifest.py cryptopredict/files.py \
     ./cryptopredict/
COPY cryptopredict/serving ./cryptopredict/serving
COPY --from=build /build/model ./model
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8080') + '/health', timeout=2)"]
CMD ["python", "api.py"]
