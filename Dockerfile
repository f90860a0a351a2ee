# Multi-stage: the build stage trains (with the quality gate); the final stage carries only the artifact, its
# model report, the serving code and the serving dependencies. Works with the classic builder and with BuildKit.
# The base is pinned by digest, as the release is: a tag alone can move between two builds. `make pin-base`
# resolves the tag's current digest and rewrites this line (docs/deployment.md: "Supply chain").
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

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
# TRAIN_OPTIONS: more train.py options, e.g. `--refit-after-hours 0` to refit every pair now.
ARG TRAIN_OPTIONS=""
# ALPACA_DATA_URL: another market-data endpoint than Alpaca's (the release rehearsal's fake Alpaca on loopback).
ARG ALPACA_DATA_URL=""
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
WORKDIR /build
# Hash-locked: every package and each of its files is pinned (make lock regenerates the locks from the pins).
COPY requirements.lock ./
RUN python -m pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
COPY train.py ./
COPY data ./data
COPY cryptopredict ./cryptopredict
# data/previous-model, when the workflow provides it, is the model being served. Between weekly refits train.py
# re-anchors each pair's stored Prophet model from there at the newest close; a pair that fails its fetch or its
# gate keeps its model from there while the others update (train.py exits 4). If no pair updates, train.py
# exits 1 or 3 and the build fails: no image is made from a model worse than the gate. --retire-unlisted: PAIRS
# decides the live set, so a served pair no longer in PAIRS leaves the artifact (listed in its run.dropped).
# data/cache/bars.sqlite is the bar store of earlier runs (the workflow restores it), so only new bars are
# fetched; the updated store stays in this stage for the workflow to save again.
# hadolint ignore=SC2086
RUN if [ -d data/previous-model ]; then cp -r data/previous-model /build/model; fi; \
    mkdir -p /build/data/cache; \
    GIT_COMMIT="${GIT_COMMIT}" PAIRS="${PAIRS}" ALPACA_DATA_URL="${ALPACA_DATA_URL}" python train.py \
        --source "${SOURCE}" --retire-unlisted ${TIMEFRAME:+--timeframe "${TIMEFRAME}"} ${UNTIL:+--until "${UNTIL}"} \
        ${TRAIN_OPTIONS} \
        --bar-store /build/data/cache/bars.sqlite --model-dir /build/model --report /build/model-report.html \
    || { status=$?; [ "$status" -eq 4 ] || exit "$status"; }
# A run with no new bars publishes nothing and writes no report; the image then carries the model it had before.
RUN [ -f /build/model-report.html ] \
    || echo "<p>No new bars and no refit due: the model is the one served before.</p>" >/build/model-report.html

# What the workflow keeps from a run besides the image: the updated bar store (`--target run-outputs` with a local
# output, or `docker create` + `docker cp` with the classic builder). Empty when the source is not Alpaca.
FROM scratch AS run-outputs
COPY --from=build /build/data/cache/ /cache/

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PORT=8080 HOST=0.0.0.0 MODEL_DIR=/app/model
WORKDIR /app
COPY requirements-api.lock ./
RUN python -m pip install --no-cache-dir --disable-pip-version-check --require-hashes --no-deps -r requirements-api.lock
COPY api.py ./
# The serving side and the standard-library kernel it shares with training: never cryptopredict/training.
COPY cryptopredict/__init__.py ./cryptopredict/
COPY cryptopredict/core ./cryptopredict/core
COPY cryptopredict/serving ./cryptopredict/serving
COPY --from=build /build/model ./model
# The model cards as HTML, so the workflow reads the report of exactly the image it pushed.
COPY --from=build /build/model-report.html ./model-report.html
USER 10001:10001
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:' + os.environ.get('PORT', '8080') + '/health', timeout=2)"]
CMD ["python", "api.py"]
