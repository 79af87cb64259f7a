# Build stage: compile the release binary (SQLite is bundled; TLS is rustls, no OpenSSL).
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
RUN cargo build --release --locked --bin webhook-relay \
    && strip target/release/webhook-relay

# Runtime stage: a small Debian with CA certificates, running as a non-root user.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /data --shell /usr/sbin/nologin relay \
    && mkdir -p /data /etc/webhook-relay \
    && chown relay:relay /data
COPY --from=build /src/target/release/webhook-relay /usr/local/bin/webhook-relay
# The image's defaults are a file (the SQLite file on the /data volume), not RELAY__
# variables, which would beat the file a user mounts in its place.
COPY config/deploy/image.toml /etc/webhook-relay/default.toml
ENV RELAY_CONFIG=/etc/webhook-relay/default.toml
USER relay:relay
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
ENTRYPOINT ["webhook-relay"]
CMD ["serve"]
