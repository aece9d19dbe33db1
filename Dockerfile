# Build the single self-contained binary, then ship it on a small glibc base.
FROM oven/bun:1.4.5 AS build
WORKDIR /app
COPY package.json package-lock.json bunfig.toml tsconfig.json ./
# Runtime packages only: the image already is the toolchain. Bun reads package-lock.json's pins.
RUN bun install --production
COPY src ./src
# The build lays the bytecode out by what a start runs (recorded by bench/bytecode-order.ts).
COPY deploy/agenticai.order ./deploy/
# The build script in package.json is the one place the compile flags live; only the target is added here.
# The binary embeds a bun runtime, by default the one building it, and an x64 bun may be the AVX2 build (the
# npm package @oven/bun-linux-x64 is): its image would die with "Illegal instruction" on older or emulated
# CPUs. The baseline target (fetched from the npm registry, like the packages above) runs on any x86-64.
RUN if [ "$(uname -m)" = x86_64 ]; then bun run build --target=bun-linux-x64-baseline; else bun run build; fi

FROM debian:bookworm-slim
# An ARG, not an ENV: it quiets debconf for this build without staying in the image.
ARG DEBIAN_FRONTEND=noninteractive
# uid and gid 10001, what the README tells bind-mount users to chown to: clear of the host's own accounts
# (100-999 for services, people from 1000 up), so what it writes to a host directory is no one else's there.
# Not --system, whose range (up to 999) it is outside of; the data dir is 700, as the server makes its own.
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid 10001 agenticai \
 && useradd --uid 10001 --gid agenticai --no-create-home --no-log-init --home-dir /data --shell /usr/sbin/nologin \
      agenticai \
 && install -d -m 700 -o agenticai -g agenticai /data
COPY --from=build /app/dist/agenticai /usr/local/bin/agenticai
COPY config.yaml /etc/agenticai/config.yaml
USER agenticai
WORKDIR /data
ENV AGENTICAI_CONFIG=/etc/agenticai/config.yaml AGENTICAI_DATA_DIR=/data PORT=8080
VOLUME /data
EXPOSE 8080
# The server answers /health some 60 ms after start, so the start period is short; the first probe still
# waits one interval (Docker 25+ can probe sooner with --start-interval; Debian's 20.10 rejects the flag).
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 CMD ["agenticai", "status"]
ENTRYPOINT ["agenticai"]
CMD ["server"]
