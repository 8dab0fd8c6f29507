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
# The emulators only for the type check (the emulator/demo commands name their types); the runtime stage
# does not copy them: they are a development tool, and those two commands say so in one line in the image.
COPY emulators ./emulators
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
# Memory (issue 8): measured by `node bench/rss.ts`, which starts the controller with this stage's ENV.
# Set after `npm ci` so npm itself runs with Node's defaults.
#  - --max-semi-space-size=4 (MB): V8 sizes its young generation from the memory it sees (the host's, or
#    the cgroup limit): on a large node it grows to 64-128 MB under the garbage of a pass over 5,000 VMs
#    (parsed listings) while the live heap is ~35 MB; at 1 MB, per-pass garbage is promoted to the old
#    generation and RSS is worse again. A fixed 4 MB costs a few more (cheap) scavenges, wherever it runs.
#  - --max-old-space-size=256 (MB): the heap limit follows the pod's memory limit (deployment.yaml, 384Mi:
#    256 for the heap plus ~100 of code, compile cache and buffers), not whatever V8 derives from the node.
#    Not lower: the heap left after a full GC at 5,000 VMs is 22 MB (Aliyun) to 37 MB (AWS), 35-45 MB used
#    mid-pass (bench/rss.ts liveHeapMB/heapMB); 20,000 VMs needs room for ~4x that, and a heap that never
#    nears its limit gives no RSS back by lowering it.
#  - NODE_COMPILE_CACHE: type stripping and V8 compilation are cached below at build time, so the process
#    neither loads the TypeScript stripper (WebAssembly) nor parses the SDKs from scratch: ~40 MB less.
#    Read-only at run time (readOnlyRootFilesystem): Node uses the entries and silently skips writing.
#  - glibc malloc: two arenas, and buffers from 32 KB up (socket reads of 64 KB, the HTTP bodies of
#    5,000-route listings) always mmap'ed so they go back to the system when freed instead of fragmenting
#    the heap: ~20-30 MB less at 5,000 VMs; 32 KB rather than 128 KB took AWS from 157-166 to 141-148 MB
#    and GCE from 149-163 to 137 MB peak (bench/rss.ts, 5,000 VMs).
ENV NODE_OPTIONS="--max-semi-space-size=4 --max-old-space-size=256" \
    NODE_COMPILE_CACHE=/app/.compile-cache \
    MALLOC_ARENA_MAX=2 \
    MALLOC_MMAP_THRESHOLD_=32768 \
    MALLOC_TRIM_THRESHOLD_=131072
# Fills the compile cache: `--help` loads the CLI, every command and, through them, every cloud's provider.
RUN node bin/routesync.js --help > /dev/null
USER 10001:10001
# Prometheus metrics plus /healthz and /readyz (metrics.listen, default 0.0.0.0:9464).
EXPOSE 9464
# No HEALTHCHECK: Kubernetes probes /healthz and /readyz (examples/kubernetes/deployment.yaml).
ENTRYPOINT ["node", "/app/bin/routesync.js"]
CMD ["run", "-c", "/etc/routesync/config.yaml"]
