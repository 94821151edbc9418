# syntax=docker/dockerfile:1
# One image for every GDmarket process. SERVICE picks the process: router (default), item,
# reservation, payment or projections. It is a build arg that becomes the default of the SERVICE
# environment variable, so one image can also run any process:
#   docker build -t gdmarket .                                  # router by default
#   docker build --build-arg SERVICE=item -t gdmarket-item .
#   docker run -e SERVICE=payment gdmarket
#   docker run gdmarket node --import tsx/esm subgraphs/item/src/main.ts   # or name the entry point
# There is no compile step: the TypeScript runs through tsx's ESM loader, a runtime dependency.
ARG NODE_IMAGE=node:20-bookworm-slim

# ---- manifests: the workspace's package files, so dependencies install before sources change ----
FROM scratch AS manifests
COPY package.json package-lock.json ./
COPY platform/package.json platform/
COPY contracts/package.json contracts/
COPY router/package.json router/
COPY projections/package.json projections/
COPY subgraphs/item/package.json subgraphs/item/
COPY subgraphs/reservation/package.json subgraphs/reservation/
COPY subgraphs/payment/package.json subgraphs/payment/
COPY web/package.json web/

# ---- build: all dependencies, only to generate the Prisma clients --------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY --from=manifests / ./
# --ignore-scripts: no engine downloads (Prisma's need none here), no root postinstall before the
# schemas are in place; the one script that matters runs explicitly below.
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY prisma prisma
COPY scripts/prisma-generate.mjs scripts/
# Only the Prisma clients: the resolver types (generate:graphql) are types, erased at run time.
RUN npm run generate:prisma
# The web app the router serves at `/`: typed against the supergraph, bundled by Vite into web/dist.
COPY router/supergraph.graphql router/
COPY web web
RUN npm run codegen -w web && npm run build -w web

# ---- runtime: production dependencies, sources, generated clients, non-root ---------------------
FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# A larger young generation: fewer scavenges under load (router CPU per request about 20 % lower
# in bench/); costs up to ~64 MiB more memory per process.
ENV NODE_OPTIONS=--max-semi-space-size=32
WORKDIR /app
COPY --from=manifests / ./
RUN --mount=type=cache,target=/root/.npm npm ci --omit=dev --ignore-scripts --no-audit --no-fund
COPY --from=build /app/generated generated
COPY . .
COPY --from=build /app/web/dist web/dist
# payment's SQLite lives in /app/data (DATABASE_URL file:./data/payment.db); mount a volume there.
RUN mkdir -p data && chown node:node data

ARG SERVICE=router
ENV SERVICE=${SERVICE}
RUN case "$SERVICE" in router|item|reservation|payment|projections) ;; \
      *) echo "SERVICE must be router, item, reservation, payment or projections, not '$SERVICE'" >&2; exit 1 ;; esac
USER node
EXPOSE 4000 4001 4002 4003 4004

# Liveness only: readiness depends on PostgreSQL and NATS, which an orchestrator judges itself.
# PORT, when set, wins over the process's default port.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "const p = process.env.PORT || { router: 4000, item: 4001, reservation: 4002, payment: 4003, projections: 4004 }[process.env.SERVICE]; fetch(`http://127.0.0.1:${p}/health/live`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Shell form only to map SERVICE to its entry point; `exec` makes node PID 1, so it receives
# SIGTERM itself and shuts down gracefully.
CMD case "$SERVICE" in router|projections) dir="$SERVICE" ;; *) dir="subgraphs/$SERVICE" ;; esac; \
    exec node --import tsx/esm "$dir/src/main.ts"
