#!/usr/bin/env bash
# Install (apt/pip) and start what a fresh machine lacks: PostgreSQL, Redis,
# RabbitMQ, Chromium and the Python extras for the integration suite.
set -euo pipefail
cd "$(dirname "$0")/.."
need_apt=()
command -v psql >/dev/null || need_apt+=(postgresql postgresql-client)
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v rabbitmq-server >/dev/null || need_apt+=(rabbitmq-server)
[ -x /usr/bin/chromium ] || need_apt+=(chromium chromium-driver)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing: ${need_apt[*]}"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
pg_isready -q -h 127.0.0.1 || pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
# RabbitMQ for the sync engine's AMQP integration test (tests/sync)
(exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null || { rabbitmq-server -detached >/dev/null 2>&1 || true
  for i in $(seq 1 60); do (exec 3<>/dev/tcp/127.0.0.1/5672) 2>/dev/null && break; sleep 1; done; }
for i in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 1; done
pg_isready -h 127.0.0.1
redis-cli -h 127.0.0.1 ping
if [ -f .ci/requirements-integration.txt ]; then
  .venv/bin/pip install -q -r .ci/requirements-integration.txt
fi
# Tryton 8.2 in its own virtualenv, for the Tryton connector tests (tests/tryton)
bash .ci/tryton-setup.sh
