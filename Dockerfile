# ticketflow: one image for the HTTP API (with Bull Board) and the workers.
#   docker build -t ticketflow:local .        (docker-compose.yml builds it for you)
#   docker run -e TICKETFLOW_API_TOKEN=... -e REDIS_URL=redis://host:6379 -p 3000:3000 ticketflow:local
#   docker run -e REDIS_URL=redis://host:6379 ticketflow:local node dist/workers/main.js

# ---- build: every dependency (TypeScript), then tsc → dist/ -------------------------------------------
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.browser.json ./
COPY shared ./shared
COPY workers ./workers
COPY producers ./producers
COPY board ./board
# test/ is not in the build context (.dockerignore): only the product is compiled.
RUN npx tsc -p tsconfig.json
# The /ui page's script: browser code, compiled on its own against the DOM library.
RUN npx tsc -p tsconfig.browser.json

# ---- runtime: production dependencies only, the compiled code, the bundled sample; not root -------------
FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production
WORKDIR /app
# package.json is also read at run time (the code version recorded in every run).
COPY package.json package-lock.json ./
# natural (a production dependency) brings the data files the runtime reads: the Brill tagger's English
# lexicon and rules (natural/lib/natural/brill_pos_tagger/data/English/{lexicon_from_posjs,tr_from_posjs}.json)
# and the noun inflector; nothing else is read from node_modules but code.
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
# The default data root (TICKETFLOW_DATA_DIR); docker-compose.yml mounts a dataset folder at /data instead.
COPY shared/sample/complaints-sample.json ./shared/sample/complaints-sample.json
# Fail the build, not the first run, when the tagger's data files are missing from the production install.
RUN node -e "const x = require('./dist/shared/core/nlp/noun-extractor').createNounExtractor(); \
  if (x('My credit cards were charged twice by the bank.').length === 0) process.exit(1)"
# Storage belongs to the unprivileged user (a new named volume mounted at /storage takes this ownership);
# the code and the sample stay root's, read-only for the process.
RUN mkdir -p /storage /data && chown node:node /storage
# "node" (uid 1000) of the official image.
USER node
ENV HOST=0.0.0.0 \
    PORT=3000 \
    TICKETFLOW_STORAGE_DIR=/storage \
    TICKETFLOW_DATA_DIR=/app/shared/sample
EXPOSE 3000
# HOST=0.0.0.0: the API refuses to start without TICKETFLOW_API_TOKEN (or TICKETFLOW_ALLOW_INSECURE=1).
CMD ["node", "dist/producers/api/main.js"]
