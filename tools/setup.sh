#!/usr/bin/env bash
# npm run setup: install npm dependencies, build, and make sure redis-server is available.
# redis-server is installed with apt when it is missing and we are root on Debian/Ubuntu;
# otherwise this says exactly what to install. docker-compose is installed the same way when possible
# (optional: only the compose test uses it). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "setup: installing npm dependencies"
if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi

echo "setup: building (tsc → dist/)"
npm run -s build

if command -v redis-server >/dev/null 2>&1 || [ -x /usr/bin/redis-server ]; then
  echo "setup: redis-server found: $( (command -v redis-server || echo /usr/bin/redis-server) )"
elif [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing redis-server with apt"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends redis-server >/dev/null
  # ticketflow starts its own redis-server when none answers; the distribution's service is not needed.
  echo "setup: redis-server installed: $(command -v redis-server || echo /usr/bin/redis-server)"
else
  cat >&2 <<'MSG'
setup: redis-server is missing and cannot be installed here (needs root on Debian/Ubuntu with apt).
  Install Redis ≥ 6.2 yourself, e.g.:
    Debian/Ubuntu:  sudo apt-get install redis-server
    macOS:          brew install redis
  or point REDIS_URL at a running Redis (e.g. REDIS_URL=redis://host:6379).
MSG
  exit 1
fi
# docker-compose (Debian's package) only lets `npm test` check docker-compose.yml with `docker-compose config`:
# optional, so setup never fails over it (the compose test says it is skipped without it).
if command -v docker-compose >/dev/null 2>&1; then
  echo "setup: docker-compose found: $(command -v docker-compose)"
elif [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing docker-compose with apt (optional: used to check docker-compose.yml)"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 &&
      apt-get install -y -qq --no-install-recommends docker-compose >/dev/null 2>&1; }; then
    echo "setup: docker-compose installed: $(command -v docker-compose || echo /usr/bin/docker-compose)"
  else
    echo "setup: docker-compose is not available from apt here; the compose test will be skipped" >&2
  fi
else
  echo "setup: docker-compose not found (optional: install it to let the compose test check docker-compose.yml)"
fi
# Debian's chromium only lets `npm test` run the browser test of the run pages (test/ui): optional, so setup
# never fails over it (the test says it is skipped without it). playwright-core drives it; no browser is downloaded.
if [ -x /usr/bin/chromium ]; then
  echo "setup: chromium found: /usr/bin/chromium"
elif [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "setup: installing chromium with apt (optional: used by the browser test of /ui)"
  export DEBIAN_FRONTEND=noninteractive
  if apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1 ||
    { apt-get update -qq >/dev/null 2>&1 &&
      apt-get install -y -qq --no-install-recommends chromium >/dev/null 2>&1; }; then
    echo "setup: chromium installed: /usr/bin/chromium"
  else
    echo "setup: chromium is not available from apt here; the browser test will be skipped" >&2
  fi
else
  echo "setup: chromium not found (optional: install Debian's chromium to run the browser test of /ui)"
fi
echo "setup: done. Run the pipeline on the bundled sample with: npm start"
