# syntax=docker/dockerfile:1
# The bot as a container: docker build -t soc-incident-bot . (docs/deploy.md). Runs as a non-root user,
# NODE_ENV=production (so it refuses local mode, SQLite and the sample directory unless told otherwise).
# BuildKit (the default builder of current Docker) is needed for the npm cache mounts below.

# Node 24 LTS on Debian 12, pinned by digest: the digest public build records give for node:24-bookworm-slim
# at Node 24.18.0. Docker was not available where this file was written, so the digest was not pulled there:
# before relying on it, check it (docker buildx imagetools inspect node:24-bookworm-slim) and move it to the
# current Node 24 patch release (CI runs 24.22.3) when you update the image.
ARG NODE_IMAGE=node:24-bookworm-slim@sha256:6f7b03f7c2c8e2e784dcf9295400527b9b1270fd37b7e9a7285cf83b6951452d

# --- build: TypeScript to dist/ (needs the dev dependencies) ---
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# --- deps: production dependencies only; better-sqlite3 is native: compiled here when no prebuilt binary is reachable ---
FROM ${NODE_IMAGE} AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
# node-gyp compiles against the headers of the image's own Node (no header download).
ENV npm_config_nodedir=/usr/local
WORKDIR /app
COPY package.json package-lock.json ./
# allowScripts (package.json) runs better-sqlite3's build and no other install script. Then its build
# leftovers go (sources, objects, the static library: about 15 MB); only the addon it loads stays.
RUN --mount=type=cache,target=/root/.npm,sharing=locked \
    npm ci --omit=dev --no-audit --no-fund \
 && cd node_modules/better-sqlite3 \
 && mv build/Release/better_sqlite3.node /tmp/ \
 && rm -rf build deps src \
 && mkdir -p build/Release \
 && mv /tmp/better_sqlite3.node build/Release/

# --- runtime ---
FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    PORT=3978
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The card templates are read at run time (src/teams/cards.ts).
COPY cards ./cards
COPY package.json ./
# The code belongs to root and is read-only for the bot; "node" (uid 1000) comes with the base image.
USER node
EXPOSE 3978
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3978) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself is PID 1 (not npm, not a shell), so SIGTERM reaches the bot's graceful stop (SHUTDOWN_TIMEOUT_MS).
STOPSIGNAL SIGTERM
CMD ["node", "--enable-source-maps", "dist/index.js"]
