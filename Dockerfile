# routesync image. The sources are TypeScript run by Node's built-in type stripping, so there is no
# compile output to ship: the build stage only proves the sources type-check (a broken commit fails
# `docker build`), and the runtime stage ships the sources plus production dependencies.
#
# Node 24 in both stages: it is the Node major pinned in package.json (devDependency `node`) that the
# tests run on; issue 7 said Node 20, but type stripping without flags needs 24 (see the foundation issue).

FROM node:24-slim AS build
WORKDIR /app
# Lockfile first so the dependency layer is cached across source-only changes.
# --ignore-scripts: the dev-only `node` package would otherwise download a second Node binary.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY bin ./bin
COPY src ./src
COPY providers ./providers
RUN npx tsc --noEmit -p .

FROM node:24-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# A fixed numeric UID/GID: Kubernetes can only enforce runAsNonRoot against a numeric USER, and the
# manifests in examples/kubernetes pin the same ids.
RUN groupadd --system --gid 10001 routesync \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin routesync
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force
# The type-checked sources from the build stage; owned by root so the process cannot rewrite its own code.
COPY --from=build /app/bin ./bin
COPY --from=build /app/src ./src
COPY --from=build /app/providers ./providers
USER 10001:10001
# Prometheus metrics plus /healthz and /readyz (metrics.listen, default 0.0.0.0:9464).
EXPOSE 9464
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz (examples/kubernetes/deployment.yaml).
ENTRYPOINT ["node", "/app/bin/routesync.js"]
CMD ["run", "-c", "/etc/routesync/config.yaml"]
