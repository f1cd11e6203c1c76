# Dockerfile: folio's image. Build stage compiles with optimisation and bakes
# the index of kb/ into the image (no ingestion at cold start); the runtime
# stage carries only runtime libraries, nginx, supervisor, the binaries, the
# configs and the index, and runs as a non-root user through the same entry
# command as a local run (scripts/start).

FROM debian:12-slim AS build
RUN apt-get update -q && apt-get install -y -q --no-install-recommends \
      build-essential cmake ninja-build pkg-config ca-certificates \
      libfcgi-dev nlohmann-json3-dev libcurl4-openssl-dev liblmdb-dev libhnswlib-dev \
      libspdlog-dev libcli11-dev libxxhash-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    && cmake --build build --target folio-worker folio-ingest \
    && build/bin/folio-ingest --kb kb --out /opt/folio/data/index

FROM debian:12-slim
RUN apt-get update -q && apt-get install -y -q --no-install-recommends \
      nginx supervisor openssl gettext-base curl ca-certificates \
      libfcgi0ldbl libcurl4 liblmdb0 libspdlog1.10 libfmt9 \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --home /opt/folio --shell /usr/sbin/nologin folio
WORKDIR /opt/folio
COPY --from=build /src/build/bin/folio-worker /src/build/bin/folio-ingest /opt/folio/build/bin/
COPY scripts/start scripts/lib.sh /opt/folio/scripts/
COPY nginx/ /opt/folio/nginx/
COPY supervisord.conf /opt/folio/
COPY kb/ /opt/folio/kb/
COPY --from=build /opt/folio/data/index /opt/folio/data/index
RUN mkdir -p /opt/folio/logs /opt/folio/run && chown -R folio:folio /opt/folio
USER folio
ENV PORT=8080 LISTEN_ADDR=0.0.0.0 DATA_DIR=/opt/folio/data LOG_DIR=/opt/folio/logs RUN_DIR=/opt/folio/run \
    WORKERS=2 MEMORY_LIMIT_MB=512
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s CMD curl -fsS http://127.0.0.1:8080/ready || exit 1
# supervisord stops nginx first (QUIT: drain), then the workers.
STOPSIGNAL SIGTERM
CMD ["/opt/folio/scripts/start"]
