# Multi-stage build: compile in the Rust image, run in a slim Debian.
FROM rust:1.95-bookworm AS build
WORKDIR /src
# Dependencies first, so that source edits do not rebuild them.
COPY Cargo.toml Cargo.lock ./
RUN mkdir src && echo 'fn main() {}' > src/main.rs && echo '' > src/lib.rs \
    && cargo build --release --locked || true
COPY . .
RUN touch src/main.rs src/lib.rs && cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home /var/lib/kiemtra kiemtra \
    && mkdir -p /var/lib/kiemtra/attachments /var/lib/kiemtra/backups && chown -R kiemtra /var/lib/kiemtra
COPY --from=build /src/target/release/kiemtra /usr/local/bin/kiemtra
USER kiemtra
WORKDIR /var/lib/kiemtra
ENV BIND_ADDR=0.0.0.0:8080 ATTACHMENTS_DIR=/var/lib/kiemtra/attachments RUST_LOG=info
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
ENTRYPOINT ["kiemtra"]
CMD ["serve"]
