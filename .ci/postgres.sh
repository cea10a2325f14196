#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests of server-kit's PostgreSQL store.
#
#   bash .ci/postgres.sh start   # installs PostgreSQL (Debian packages) if missing, creates a
#                                # new cluster under $PG_CI_DIR and starts it on
#                                # 127.0.0.1:$PG_CI_PORT; prints the URL for TEST_POSTGRES_URL
#   bash .ci/postgres.sh stop    # stops it by the PID it recorded, and removes the cluster
#   bash .ci/postgres.sh url     # prints the URL
#   bash .ci/postgres.sh ca      # prints the path of the CA certificate, for TEST_POSTGRES_CA
#
# Loopback only, trust authentication, user `postgres`, database `postgres`. PostgreSQL does
# not run as root: when run by root the server runs as the `postgres` system user (created by
# the Debian package).
#
# TLS too (for the store's sslmode tests): a throwaway CA and a server certificate for
# 127.0.0.1 and localhost (IP and DNS subject alternative names), made with openssl under
# $PG_CI_DIR/tls; clients choose (sslmode=prefer, the default, takes it). One password user,
# `sk_tls_scram` (password `sk_tls_scram`, may create schemas), must come over TLS and
# authenticate with SCRAM, which exercises SCRAM channel binding.
set -euo pipefail

PORT="${PG_CI_PORT:-54329}"
DIR="${PG_CI_DIR:-${TMPDIR:-/tmp}/server-kit-ci-postgres-$PORT}"
DATA="$DIR/data"
PIDFILE="$DIR/postgres.pid"
LOG="$DIR/postgres.log"
URL="postgres://postgres@127.0.0.1:$PORT/postgres"
TLS="$DIR/tls"

bindir() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
        echo "$dir"
    fi
}

# Runs a command as the user the server runs as.
as_server_user() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

running() {
    [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

start() {
    local bin
    bin="$(bindir)"
    if [ -z "$bin" ]; then
        echo "installing PostgreSQL (Debian packages)"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq postgresql >/dev/null
        bin="$(bindir)"
        [ -n "$bin" ] || { echo "no initdb under /usr/lib/postgresql/*/bin after installing" >&2; exit 1; }
    fi
    if ! command -v openssl >/dev/null; then
        echo "installing openssl (Debian package) for the test certificates"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq openssl >/dev/null
    fi
    if running; then
        echo "PostgreSQL already running (PID $(cat "$PIDFILE")) at $URL"
        return
    fi
    rm -rf "$DIR"
    mkdir -p "$DIR"
    if [ "$(id -u)" = 0 ]; then
        id postgres >/dev/null 2>&1 || { echo "no postgres system user to run the server as" >&2; exit 1; }
        chown postgres: "$DIR"
    fi
    as_server_user "$bin/initdb" -D "$DATA" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
        >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
    certificates
    # The password user: TLS and SCRAM only (the first matching line wins).
    as_server_user sh -c '{ echo "$1"; echo "$2"; cat "$3"; } >"$3.new" && mv "$3.new" "$3"' sh \
        "hostssl all sk_tls_scram 127.0.0.1/32 scram-sha-256" \
        "host all sk_tls_scram 127.0.0.1/32 reject" "$DATA/pg_hba.conf"
    # In the background, detached from this shell; its own PID recorded as it starts.
    as_server_user sh -c 'exec "$0" -D "$1" -p "$2" -c listen_addresses=127.0.0.1 \
            -c unix_socket_directories="$3" -c fsync=off -c max_connections=200 \
            -c ssl=on -c ssl_cert_file="$6" -c ssl_key_file="$7" \
            >"$4" 2>&1 </dev/null & echo $! >"$5"' \
        "$bin/postgres" "$DATA" "$PORT" "$DIR" "$LOG" "$DIR/server.pid" \
        "$TLS/server.crt" "$TLS/server.key"
    # runuser leaves the PID file owned by the server user; keep our own copy.
    cp "$DIR/server.pid" "$PIDFILE"
    for _ in $(seq 1 150); do
        if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PORT"; then
            "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres -d postgres \
                -c "CREATE ROLE sk_tls_scram LOGIN PASSWORD 'sk_tls_scram'" \
                -c "GRANT CREATE ON DATABASE postgres TO sk_tls_scram" >/dev/null
            echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') running (PID $(cat "$PIDFILE")) at $URL"
            return
        fi
        if ! running; then
            echo "PostgreSQL did not start:" >&2
            cat "$LOG" >&2
            exit 1
        fi
        sleep 0.2
    done
    echo "PostgreSQL did not answer on port $PORT within 30 s:" >&2
    cat "$LOG" >&2
    exit 1
}

# A CA and a server certificate it signed (ECDSA P-256, ten years), under $TLS. The key stays
# readable by the server's user only, as PostgreSQL requires.
certificates() {
    mkdir -p "$TLS"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
        -subj "/CN=server-kit CI PostgreSQL CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$TLS/ca.key" -out "$TLS/ca.crt" 2>"$TLS/openssl.log" \
        || { cat "$TLS/openssl.log" >&2; exit 1; }
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -subj "/CN=127.0.0.1" -keyout "$TLS/server.key" -out "$TLS/server.csr" 2>"$TLS/openssl.log" \
        || { cat "$TLS/openssl.log" >&2; exit 1; }
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
        "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >"$TLS/server.ext"
    openssl x509 -req -in "$TLS/server.csr" -CA "$TLS/ca.crt" -CAkey "$TLS/ca.key" \
        -set_serial "0x$(openssl rand -hex 8)" -days 3650 -extfile "$TLS/server.ext" \
        -out "$TLS/server.crt" 2>"$TLS/openssl.log" || { cat "$TLS/openssl.log" >&2; exit 1; }
    rm -f "$TLS/ca.key" "$TLS/server.csr" "$TLS/server.ext" "$TLS/openssl.log"
    chmod 600 "$TLS/server.key"
    if [ "$(id -u)" = 0 ]; then
        chown -R postgres: "$TLS"
    fi
}

stop() {
    if ! [ -f "$PIDFILE" ]; then
        echo "PostgreSQL not running (no $PIDFILE)"
        return
    fi
    local pid
    pid="$(cat "$PIDFILE")"
    if kill -0 "$pid" 2>/dev/null; then
        # SIGINT: fast shutdown (disconnect clients, no waiting for them).
        kill -INT "$pid"
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        if kill -0 "$pid" 2>/dev/null; then
            echo "PostgreSQL (PID $pid) still running after 20 s: SIGQUIT" >&2
            kill -QUIT "$pid" 2>/dev/null || true
            sleep 1
        fi
    fi
    rm -rf "$DIR"
    echo "PostgreSQL (PID $pid) stopped"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    url) echo "$URL" ;;
    ca) echo "$TLS/ca.crt" ;;
    *)
        echo "usage: $0 start|stop|url|ca" >&2
        exit 2
        ;;
esac
