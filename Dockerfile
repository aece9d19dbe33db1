# Build the single self-contained binary, then ship it on a small glibc base.
FROM oven/bun:1.4.5 AS build
WORKDIR /app
COPY package.json package-lock.json bunfig.toml tsconfig.json ./
# Runtime packages only: the image already is the toolchain. Bun reads package-lock.json's pins.
RUN bun install --production
COPY src ./src
# The build script in package.json is the one place the compile flags live.
RUN bun run build

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data agenticai && mkdir -p /data && chown agenticai /data
COPY --from=build /app/dist/agenticai /usr/local/bin/agenticai
COPY config.yaml /etc/agenticai/config.yaml
USER agenticai
WORKDIR /data
ENV AGENTICAI_CONFIG=/etc/agenticai/config.yaml AGENTICAI_DATA_DIR=/data PORT=8080
VOLUME /data
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s CMD ["agenticai", "status"]
ENTRYPOINT ["agenticai"]
CMD ["server"]
