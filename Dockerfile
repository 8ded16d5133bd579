# syntax=docker/dockerfile:1
# zexa-exporter image. Build: `docker build -t zexa-exporter .`
# Run:   docker run -e ZEXA_API_KEY=... -p 10025:10025 zexa-exporter
# Demo (no key needed, built-in simulator):
#        docker run --rm -p 10025:10025 --entrypoint node zexa-exporter dist/demo.js
# Configuration comes only from the environment (ZEXA_*) and mounted files (key files, the
# config file via ZEXA_EXPORTER_CONFIG, the web config via ZEXA_EXPORTER_WEB_CONFIG): keys are
# never baked into the image or passed as arguments.

# Current Node.js LTS, pinned by major; Debian slim for glibc and a small, patched base.
ARG NODE_IMAGE=node:24-bookworm-slim

# --- build: compile TypeScript with the dev dependencies --------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# --- deps: production dependencies only -------------------------------------------------------
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime -----------------------------------------------------------------------------------
FROM ${NODE_IMAGE}
ARG VERSION=dev
ARG REVISION=unknown
LABEL org.opencontainers.image.title="zexa-exporter" \
      org.opencontainers.image.description="Prometheus exporter for the message-credit balance of Zexa API keys" \
      org.opencontainers.image.source="https://github.com/zexa-exporter/zexa-exporter" \
      org.opencontainers.image.url="https://github.com/zexa-exporter/zexa-exporter" \
      org.opencontainers.image.documentation="https://github.com/zexa-exporter/zexa-exporter/blob/main/README.md" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}"
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps --chown=root:root /app/node_modules ./node_modules
COPY --from=build --chown=root:root /app/dist ./dist
COPY --chown=root:root package.json ./
# The image's `node` user, by number: Kubernetes' runAsNonRoot can only verify a numeric user.
# The files above stay owned by root, so the process cannot modify its own code.
USER 1000:1000
EXPOSE 10025
# No curl in the image: the exporter's own probe asks /healthz on the configured listen address,
# over HTTPS when the web config turns TLS on (same environment and files as the exporter).
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["node", "dist/main.js", "healthcheck"]
ENTRYPOINT ["node", "dist/main.js"]
