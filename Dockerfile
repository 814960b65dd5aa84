# syntax=docker/dockerfile:1
# The server's image: what `npm ci && npm start` does on a checkout, split so
# that everything is installed and generated at build time and the running
# container writes nothing into /app. docs/operations.md describes it.

# --- build: dependencies and the generated Prisma client -------------------
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
# What the install (and its own lifecycle scripts) reads, before the sources,
# so that the dependency layer is cached until the lock file changes.
COPY package.json package-lock.json prisma.config.ts ./
COPY vendor ./vendor
COPY scripts ./scripts
COPY prisma ./prisma
# The same steps as a checkout's install: the embedded PostgreSQL's library
# links and `prisma generate` (no engine download; see the script), which
# `npm ci` runs through the package's postinstall and are repeated here
# explicitly; then the check `npm start` runs before starting
# (scripts/check-install.mjs), so an image that would refuse to start fails
# its build instead. A production install (--omit=dev): the Prisma CLI that
# generates and the tsx loader that `npm start` runs with are dependencies.
RUN npm ci --omit=dev --no-audit --no-fund \
 && node scripts/hydrate-postgres.mjs \
 && node scripts/prisma-generate.mjs \
 && node scripts/check-install.mjs

# --- runtime ----------------------------------------------------------------
FROM node:20.20-bookworm-slim
ENV HOST=0.0.0.0 \
    PORT=3000 \
    DATA_DIR=/data \
    NPM_CONFIG_UPDATE_NOTIFIER=false
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY . .
COPY --from=build /app/src/generated ./src/generated
# The server bundle npm start runs (dist/server.mjs, scripts/server-build.mjs):
# built here, where the sources are, so the container never compiles TypeScript.
RUN node scripts/server-build.mjs
# Only used without DATABASE_URL (embedded PostgreSQL, which refuses to run as root).
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
EXPOSE 3000
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/-/readiness').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
# `npm start` execs node, so the SIGTERM of `docker stop` reaches the server,
# which drains requests and exits 0. Its preparation already ran at build time
# (--ignore-scripts skips the prestart hook, as test/helpers/server-process.ts
# does). Run it under an init process (`docker run --init`, compose `init: true`).
STOPSIGNAL SIGTERM
CMD ["npm", "start", "--ignore-scripts"]
