# Builds the talent-hub and hubctl binaries; one image serves every city.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --bin talent-hub --bin hubctl

FROM debian:bookworm-slim
RUN useradd --system --home /var/lib/talent-hub talent-hub \
    && mkdir -p /var/lib/talent-hub /etc/talent-hub \
    && chown talent-hub /var/lib/talent-hub
COPY --from=build /src/target/release/talent-hub /src/target/release/hubctl /usr/local/bin/
COPY config /etc/talent-hub
USER talent-hub
EXPOSE 50051
ENTRYPOINT ["talent-hub"]
CMD ["--config", "/etc/talent-hub/default.toml"]
