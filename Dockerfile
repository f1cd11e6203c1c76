# Dockerfile: folio's image, in two stages.
#  build:   Debian 12 with the compiler and the -dev packages; compiles the
#           product programs (Release) and bakes the index of kb/ into
#           /out/index, so a cold start never ingests.
#  runtime: Debian 12 with only the shared libraries those programs link,
#           nginx, supervisor and the tools scripts/start uses; the programs,
#           scripts/start, the nginx templates, supervisord.conf, config/, web/,
#           kb/ and the index. No compiler, no headers, no tests.
# It runs as the unprivileged user folio (uid 10001): supervisord, nginx and
# the workers alike; only /opt/folio/{data,logs,run} are writable by it.
# The entry command is scripts/start, the same start path as a local run.
# tests/integration/deploy_test.cc and deploy_run_test.cc check all of the
# above without a Docker engine (the stages, the package list against `ldd`,
# and this stage's layout started by its CMD as a non-root user); change
# them together.

FROM debian:12-slim AS build
# libbenchmark-dev: CMakeLists.txt configures bench/ unconditionally (its
# programs are not built here). libhiredis-dev: the Redis state backend
# (STATE_BACKEND=redis://...).
RUN apt-get update -q \
    && apt-get install -y -q --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libfcgi-dev nlohmann-json3-dev libcurl4-openssl-dev libssl-dev liblmdb-dev libhnswlib-dev \
      libspdlog-dev libcli11-dev libxxhash-dev libbenchmark-dev libhiredis-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
# The product: folio-worker and every command-line tool in tools/ (one
# program per tools/*_main.cc: folio-ingest, folio-admin, ...).
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    && tools="$(for f in tools/*_main.cc; do basename "$f" _main.cc | tr _ -; done)" \
    && cmake --build build --target folio-worker $tools \
    && mkdir -p /out/bin \
    && for p in folio-worker $tools; do cp "build/bin/$p" /out/bin/; done \
    && /out/bin/folio-ingest --kb kb --out /out/index

FROM debian:12-slim AS runtime
# Runtime libraries, one per library the programs link (see `ldd`; the test
# maps each to its package): libfcgi0ldbl, libcurl4, liblmdb0, libspdlog1.10,
# libfmt9, libhiredis0.14 (libc6, libstdc++6, libgcc-s1 come with the base image; libssl3,
# whose libcrypto hashes API keys, comes with libcurl4).
# nginx + supervisor run the instance; openssl makes the self-signed pair,
# gettext-base (envsubst) renders nginx's config, curl is the health check.
RUN apt-get update -q \
    && apt-get install -y -q --no-install-recommends \
      nginx supervisor openssl gettext-base curl ca-certificates \
      libfcgi0ldbl libcurl4 liblmdb0 libspdlog1.10 libfmt9 libhiredis0.14 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 10001 folio \
    && useradd --uid 10001 --gid folio --home-dir /opt/folio --no-create-home \
      --shell /usr/sbin/nologin folio
WORKDIR /opt/folio
# Code and configuration belong to root (read-only to folio).
COPY --from=build /out/bin/ /opt/folio/bin/
COPY scripts/start scripts/lib.sh scripts/ctl scripts/nginx-run scripts/web-render /opt/folio/scripts/
COPY nginx/ /opt/folio/nginx/
# The chat page and the widget: scripts/start publishes them into RUN_DIR.
COPY web/ /opt/folio/web/
COPY supervisord.conf /opt/folio/
COPY config/ /opt/folio/config/
# kb/: scripts/start rebuilds the index from it if DATA_DIR ever starts empty
# (say, a fresh volume mounted there).
COPY kb/ /opt/folio/kb/
COPY --from=build --chown=10001:10001 /out/index /opt/folio/data/index
# State belongs to folio. /etc/supervisord.conf is on supervisorctl's search
# path: `supervisorctl status` works from any directory inside the container.
RUN mkdir -p /opt/folio/data /opt/folio/logs /opt/folio/run \
    && chown 10001:10001 /opt/folio/data /opt/folio/logs /opt/folio/run \
    && ln -s /opt/folio/supervisord.conf /etc/supervisord.conf
ENV FOLIO_BIN=/opt/folio/bin \
    DATA_DIR=/opt/folio/data \
    LOG_DIR=/opt/folio/logs \
    RUN_DIR=/opt/folio/run \
    KB_DIR=/opt/folio/kb \
    PORT=8080 \
    TLS_PORT=8443 \
    LISTEN_ADDR=0.0.0.0
USER 10001:10001
# Plain HTTP; the platform terminates TLS (8443 serves a self-signed pair
# when published by hand).
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=10s --retries=3 \
    CMD curl -fsS -m 2 -o /dev/null "http://127.0.0.1:${PORT}/ready" || exit 1
# SIGTERM to supervisord (PID 1) drains: nginx gets QUIT and finishes its
# requests within DRAIN_TIMEOUT_S (10 s), then the workers stop. Give the
# container that long: `docker stop -t 30`, `docker run --stop-timeout 30`.
STOPSIGNAL SIGTERM
CMD ["/opt/folio/scripts/start"]
