# One image for the collector and the agent (docs/deploy.md#docker-and-compose):
#   docker build -t vagt .
#   docker run -v ./vagt.yaml:/etc/vagt/vagt.yaml:ro -p 9400:9400 vagt          # the collector
#   docker run --no-healthcheck vagt agent --collector ws://HOST:9400/agent --id ID --token TOKEN

# Production dependencies. better-sqlite3 is compiled against this Node's own headers
# (--nodedir): the build fetches npm packages and nothing else.
FROM node:20-bookworm-slim AS deps
# The toolchain lives only in this stage; Debian's bookworm versions are what node-gyp needs.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: no `prepare` (tsc is a dev dependency); the one native module is rebuilt by
# name, then its sources and object files are dropped (the .node file is all it loads).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm_config_build_from_source=true npm rebuild better-sqlite3 --nodedir=/usr/local \
 && rm -rf node_modules/better-sqlite3/deps node_modules/better-sqlite3/build/Release/obj* \
      node_modules/better-sqlite3/build/Release/*.a

# TypeScript -> dist/, with the dev dependencies, which stay in this stage.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
# The directories tsconfig.build.json compiles (tests/deploy/dockerfile.test.ts keeps them in sync).
COPY agent/ agent/
COPY bench/ bench/
COPY cli/ cli/
COPY collector/ collector/
COPY config/ config/
COPY demo/ demo/
COPY lib/ lib/
COPY probes/ probes/
COPY protocol/ protocol/
RUN npm run build

FROM node:20-bookworm-slim
# VAGT_DATA_DIR is the agent's data directory; the collector is given --data-dir below.
ENV NODE_ENV=production \
    VAGT_DATA_DIR=/var/lib/vagt
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# package.json gives the version; demo.yaml is what `vagt demo` runs.
COPY package.json ./
COPY config/demo.yaml config/vagt.schema.json ./config/
COPY config/examples/ ./config/examples/
# Writable by the node user: the data volume, and ./data for `vagt demo`.
RUN mkdir -p /var/lib/vagt /app/data \
 && chown node:node /var/lib/vagt /app/data
USER node
VOLUME ["/var/lib/vagt"]
EXPOSE 9400
# The collector's liveness. An agent serves no HTTP: run it with --no-healthcheck
# (compose: `healthcheck: disable: true`); a dead agent exits and its restart policy brings it back.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9400/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["collector", "--config", "/etc/vagt/vagt.yaml", "--listen", "0.0.0.0:9400", "--data-dir", "/var/lib/vagt"]
