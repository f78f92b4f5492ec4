#!/usr/bin/env bash
# Build the web chat front end into webchat/dist (called by `make run` / `make webchat`).
set -euo pipefail
cd "$(dirname "$0")"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run build
