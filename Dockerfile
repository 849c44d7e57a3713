# syntax=docker/dockerfile:1
# The bot as a container: docker build -t soc-incident-bot . (docs/deploy.md). Runs as a non-root user,
# NODE_ENV=production (so it refuses local mode, SQLite and the sample directory unless told otherwise).

# --- build: TypeScript to dist/ (needs the dev dependencies) ---
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json

# --- deps: production dependencies only; better-sqlite3 is native: compiled here when no prebuilt binary is reachable ---
FROM node:20-bookworm-slim AS deps
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# --- runtime ---
FROM node:20-bookworm-slim
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
