# OnAir container image. The same steps as scripts/setup.sh (which is what the test suite runs):
#   1. Debian packages (scripts/system-packages.sh: build tools, the worker's system libraries, ffmpeg, meson
#      from bookworm-backports),
#   2. npm packages with install scripts off, then better-sqlite3 built from source,
#   3. the mediasoup 3.12.16 worker built against Debian's libraries, libsrtp2 built in from its source in
#      Debian's archive (scripts/build-worker.sh; it fetches the tarball from deb.debian.org),
#   4. OnAir itself (scripts/build.mjs).
# The runtime stage keeps only the shared libraries the worker links and ffmpeg.
#
#   docker build -t onair .
#   docker run -p 8080:8080 -p 40000:40000/udp -p 40000:40000/tcp -e ONAIR_WORKERS=1 \
#     -e ONAIR_ANNOUNCED_IP=<this host's IP> -v onair-data:/data onair
# With ONAIR_WORKERS=N, publish ports 40000 … 40000+N-1 (UDP and TCP).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY scripts/lib.sh scripts/system-packages.sh scripts/
RUN bash scripts/system-packages.sh start && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund && npm rebuild better-sqlite3 esbuild
COPY scripts/ scripts/
RUN ONAIR_CACHE_DIR=/tmp/onair-cache bash scripts/build-worker.sh
COPY tsconfig.json tsconfig.server.json ./
COPY server/ server/
COPY shared/ shared/
COPY client/ client/
RUN node scripts/build.mjs \
 && npm prune --omit=dev --ignore-scripts --no-audit --no-fund \
 && rm -rf node_modules/mediasoup/worker/out/Release/build node_modules/mediasoup/worker/subprojects \
           node_modules/mediasoup/worker/deps node_modules/mediasoup/worker/src node_modules/mediasoup/worker/test

FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ffmpeg ca-certificates libuv1 libusrsctp2 libabsl20220623 libssl3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules/
COPY --from=build /app/dist dist/
RUN mkdir -p /data && chown node:node /data
ENV NODE_ENV=production ONAIR_DATA_DIR=/data PORT=8080
VOLUME /data
EXPOSE 8080 40000/udp 40000/tcp 1935/tcp 8890/udp
USER node
HEALTHCHECK --interval=15s --timeout=3s CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8080)+'/readyz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/server/main.js"]
