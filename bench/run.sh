#!/usr/bin/env bash
# Runs the pipeline benchmarks: for each scenario a fresh triaged (bench config, ports picked by
# the kernel) and triaged-loadgen against it, on this machine. Prints each figure with its
# command. --smoke runs every scenario tiny (used by the test suite). BENCH_SHARDS=N sets
# pipeline.shards (default: one per core); TRIAGED_PRELOAD=lib preloads a library into the
# daemon only (an allocator, to compare: bench/RESULTS.md). BENCH_BACKEND=postgresql keeps the
# state in PostgreSQL instead of SQLite: run under tests/system/postgres.py, which starts a server
# and sets TRIAGED_TEST_PG (each scenario gets an empty database of its own), e.g.
#   python3 tests/system/postgres.py --fsync -- env BENCH_BACKEND=postgresql bench/run.sh durable-grouped
# BENCH_DROP_CACHES=1 empties the kernel's page cache before each scenario (root only; refused
# otherwise): each daemon then runs from pages of the binary and its libraries read afresh. One
# copy of a binary once ran 1.45x slower than four other copies of the same file until the cache
# was dropped (bench/RESULTS.md, twenty-second stop); comparing two builds, use it.
# Usage: bench/run.sh [--smoke] [scenario...]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${TRIAGED_BUILD:-build/release}"
daemon="${TRIAGED_DAEMON:-$build/triaged}"  # another daemon binary (e.g. the package build) with this build's loadgen
smoke=0
if [ "${1:-}" = "--smoke" ]; then smoke=1; shift; fi
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(tcp tcp-mtls http-ndjson am-v2 single storm latency memory)

work=$(mktemp -d)
trap 'kill $(cat "$work/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$work"' EXIT

if [ "${BENCH_DROP_CACHES:-0}" = 1 ] && ! [ -w /proc/sys/vm/drop_caches ]; then
  echo "BENCH_DROP_CACHES=1 needs root (writes /proc/sys/vm/drop_caches)" >&2
  exit 2
fi

dbs=0
start() {
  if [ "${BENCH_DROP_CACHES:-0}" = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
  rm -rf "$work/state"  # each scenario starts empty (state is durable across restarts)
  local state="{directory: $work/state}"
  if [ "${BENCH_BACKEND:-sqlite}" = postgresql ]; then
    dbs=$((dbs + 1))
    psql -X -q "$TRIAGED_TEST_PG dbname=postgres" -c "CREATE DATABASE bench_$dbs" >/dev/null
    state="{backend: postgresql, postgresql: {url: \"$TRIAGED_TEST_PG dbname=bench_$dbs\"}}"
  fi
  cat > "$work/bench.yaml" <<YAML
server: {listen: "127.0.0.1:0", max_body_bytes: 134217728}
state: $state
logging: {level: warn}
pipeline: {queue_batches: 256, shards: ${BENCH_SHARDS:-0}}
rule_files: []
${BENCH_EXTRA:-}
inputs:
  - type: native_json
    resolve_timeout: 1h
  - type: ndjson_tcp
    listen: "127.0.0.1:0"
    resolve_timeout: 1h
${BENCH_TCP_TLS:-}
${BENCH_INPUTS:-}
  - type: alertmanager_api
  - type: alertmanager
  - type: pagerduty
YAML
  rm -f "$work/ports"
  TRIAGED_PORT_FILE="$work/ports" LD_PRELOAD="${TRIAGED_PRELOAD:-}" \
    "$daemon" --config "$work/bench.yaml" 2>"$work/log" &
  echo $! > "$work/pid"
  for _ in $(seq 1 500); do [ -s "$work/ports" ] && [ "$(wc -l < "$work/ports")" -ge 2 ] && break; sleep 0.02; done
  http=$(sed -n 1p "$work/ports"); tcp=$(sed -n 2p "$work/ports")
}
stop() { kill "$(cat "$work/pid")"; wait "$(cat "$work/pid")" 2>/dev/null || true; }

# After stop: the rows the store holds, checked against what the generator sent (the loadgen's
# verify reads the API, i.e. memory; this reads the database).
stored() {  # expected alert rows
  local q="SELECT (SELECT count(*) FROM alerts) || ' alert rows, ' || (SELECT count(*) FROM incident_alerts) || ' incident member rows'"
  local got
  if [ "${BENCH_BACKEND:-sqlite}" = postgresql ]; then
    # PostgreSQL also keeps members in blocks (16 bytes each), a row per incident and commit.
    q="SELECT (SELECT count(*) FROM alerts) || ' alert rows, ' || ((SELECT count(*) FROM incident_alerts) + (SELECT coalesce(sum(length(members) / 16), 0) FROM incident_alert_blocks)) || ' incident members in ' || (SELECT count(*) FROM incident_alert_blocks) || ' blocks'"
    got=$(psql -X -A -t "$TRIAGED_TEST_PG dbname=bench_$dbs" -c "$q")
  else
    got=$(sqlite3 "$work/state/triaged.db" "$q")
  fi
  echo "stored: $got (want $1 alert rows)"
  case "$got" in "$1 alert rows"*) ;; *) echo "stored rows differ" >&2; exit 1 ;; esac
}

run() {  # name, loadgen args...
  local name=$1; shift
  start
  echo "### $name: triaged-loadgen $* (cores: $(nproc), state: ${BENCH_BACKEND:-sqlite})"
  "$build/bench/triaged-loadgen" --port "$http" --tcp-port "$tcp" "$@"
  if [ "$name" = memory ]; then "$build/bench/triaged-loadgen" --mode probe --port "$http"; fi
  # RSS in its parts: the heap and the rest (anonymous), and the files mapped (the binary, the
  # libraries and the database's pages read through SQLite's memory map: the kernel's cache).
  echo "daemon RSS at the end: $(grep -E '^Rss(Anon|File):' "/proc/$(cat "$work/pid")/status" | tr -s ' \t' ' ' | paste -sd ',')"
  stop
}

n() { if [ $smoke = 1 ]; then echo "$2"; else echo "$1"; fi; }

# Certificates for the TLS scenarios (a CA, triaged's, a client's), made here with openssl.
pki() {
  local d="$work/pki"
  mkdir -p "$d"
  local ec=(-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes)
  openssl req -x509 "${ec[@]}" -keyout "$d/ca.key" -out "$d/ca.pem" -days 2 -subj /CN=bench-ca 2>/dev/null
  echo "subjectAltName=IP:127.0.0.1" > "$d/san.ext"
  for who in server client; do
    openssl req "${ec[@]}" -keyout "$d/$who.key" -out "$d/$who.csr" -subj "/CN=$who" 2>/dev/null
    openssl x509 -req -in "$d/$who.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial \
      -out "$d/$who.pem" -days 2 -extfile "$d/san.ext" 2>/dev/null
  done
}

for s in "${scenarios[@]}"; do
  case $s in
    tcp) run tcp --mode tcp --events "$(n 4000000 20000)" --distinct "$(n 100000 1000)" --connections 2 ;;
    # The same stream over mutual TLS (client certificate from the CA, one allowed subject).
    tcp-mtls)
      pki
      BENCH_TCP_TLS="    tls: {cert_file: $work/pki/server.pem, key_file: $work/pki/server.key, client_ca_file: $work/pki/ca.pem, client_subjects: [client]}" \
        run tcp-mtls --mode tcp --events "$(n 4000000 20000)" --distinct "$(n 100000 1000)" --connections 2 \
        --tls-ca "$work/pki/ca.pem" --tls-cert "$work/pki/client.pem" --tls-key "$work/pki/client.key" ;;
    http-ndjson) run http-ndjson --mode http-ndjson --events "$(n 2000000 20000)" --distinct "$(n 100000 1000)" --batch 1000 --connections 2 ;;
    am-v2) run am-v2 --mode am-v2 --events "$(n 2000000 20000)" --distinct "$(n 100000 1000)" --batch 100 --connections 4 ;;
    single) run single --mode single --events "$(n 300000 2000)" --distinct "$(n 10000 100)" --connections "$(n 32 4)" ;;
    storm) run storm --mode tcp --events "$(n 1000000 10000)" --distinct "$(n 1000000 10000)" --connections 2 ;;
    latency) run latency --mode http-ndjson --events "$(n 1000000 10000)" --distinct "$(n 100000 1000)" --batch 1000 --connections 1 --rate 100000 ;;
    memory) run memory --mode tcp --events "$(n 1000000 10000)" --distinct "$(n 1000000 10000)" --connections 2 ;;
    # The realistic profile (bench/realistic.h): changing values and summaries, resolutions,
    # re-firings, flapping, keys arriving over time. Pass 1 creates the alerts; the figure is
    # the passes after it (steady state), each pass's rate and RSS printed.
    # RSS is also reported at rest: the lowest within 25 s after the load, once the daemon has
    # given back its idle caches and trimmed its heap.
    realistic) run realistic --mode tcp --profile realistic --events "$(n 1000000 20000)" --distinct "$(n 41000 1000)" --connections 2 --passes "$(n 6 2)" --settle "$(n 25 1)" ;;
    # The same mix with ten times the alerts (and events): RSS per alert is the difference of the
    # two at rest divided by the alerts added, without the fixed part both have.
    realistic-large) run realistic-large --mode tcp --profile realistic --events "$(n 10000000 40000)" --distinct "$(n 410000 2000)" --connections 2 --passes 2 --settle "$(n 25 1)" --timeout 900 ;;
    realistic-http) run realistic-http --mode http-ndjson --profile realistic --events "$(n 1000000 20000)" --distinct "$(n 41000 1000)" --batch 1000 --connections 2 --passes "$(n 6 2)" ;;
    # The same over 8 connections: with sync durability each request waits for its commit, so
    # two connections leave the pipeline idle between requests; shippers send concurrently.
    realistic-http-8) run realistic-http-8 --mode http-ndjson --profile realistic --events "$(n 1000000 20000)" --distinct "$(n 41000 1000)" --batch 1000 --connections 8 --passes "$(n 6 2)" ;;
    # RSS must follow the alerts, not the events: 50 passes of the realistic million (bounded
    # by --timeout); compare the RSS printed after pass 10 and after pass 50.
    soak) run soak --mode tcp --profile realistic --events "$(n 1000000 20000)" --distinct "$(n 41000 1000)" --connections 2 --passes "$(n 50 3)" --timeout 900 --settle "$(n 25 1)" ;;
    single-wrk)
      # The same single-event load from wrk (one epoll thread) instead of 32 blocking threads,
      # so that less of the 2 cores goes to the generator; then the same correctness check.
      start
      echo "### single-wrk: wrk -t1 -c32 -d$(n 10 1)s -s bench/single.lua (cores: $(nproc))"
      out=$(wrk -t1 -c32 -d"$(n 10 1)"s -s bench/single.lua "http://127.0.0.1:$http/")
      echo "$out" | grep -E "Requests/sec|Latency|wrk:"
      answered=$(echo "$out" | sed -n 's/^wrk: \([0-9]*\) answered.*/\1/p')
      sent=$(echo "$out" | sed -n 's/^wrk: [0-9]* answered, \([0-9]*\) sent.*/\1/p')
      "$build/bench/triaged-loadgen" --mode verify --port "$http" --events "$answered" --events-max "$sent" \
        --distinct "$(( answered < 10000 ? answered : 10000 ))"
      stop ;;
    single-nginx)
      # Single-event POSTs from wrk (one thread, 32 connections) to triaged and to Debian's
      # nginx answering a static 200 to the same requests, alternated in one run: the ceiling
      # of an HTTP server on this machine. Then triaged's correctness check.
      if ! command -v nginx >/dev/null; then echo "### single-nginx: skipped (nginx is not installed: apt-get install nginx)"; continue; fi
      mkdir -p "$work/nginx"
      nport=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
      cat > "$work/nginx/nginx.conf" <<NGINX
daemon off; master_process off; worker_processes 1; error_log stderr error; pid $work/nginx/pid;
events { worker_connections 1024; }
http { access_log off; client_body_temp_path $work/nginx;
  server { listen 127.0.0.1:$nport; location / { return 200 "ok"; } } }
NGINX
      nginx -p "$work/nginx" -c "$work/nginx/nginx.conf" 2>"$work/nginx/log" &
      npid=$!
      start
      total=0; sent_total=0
      for round in 1 2; do
        out=$(wrk -t1 -c32 -d"$(n 10 1)"s -s bench/single.lua "http://127.0.0.1:$nport/")
        echo "nginx (static 200), round $round: $(echo "$out" | grep Requests/sec)"
        out=$(wrk -t1 -c32 -d"$(n 10 1)"s -s bench/single.lua "http://127.0.0.1:$http/")
        echo "triaged, round $round: $(echo "$out" | grep Requests/sec)"
        total=$(( total + $(echo "$out" | sed -n 's/^wrk: \([0-9]*\) answered.*/\1/p') ))
        sent_total=$(( sent_total + $(echo "$out" | sed -n 's/^wrk: [0-9]* answered, \([0-9]*\) sent.*/\1/p') ))
      done
      kill $npid; wait $npid 2>/dev/null || true
      "$build/bench/triaged-loadgen" --mode verify --port "$http" --events "$total" --events-max "$sent_total" \
        --distinct "$(( total < 10000 ? total : 10000 ))"
      stop ;;
    durable)
      # Every event a new alert (a state change) opening its own incident, over HTTP, 8
      # connections: each 2xx waits for the commit of the alert and its incident.
      run durable --mode http-ndjson --events "$(n 1000000 10000)" --distinct "$(n 1000000 10000)" --batch 1000 --connections 8
      stored "$(n 1000000 10000)" ;;
    durable-grouped)
      # The same, with the alerts grouping into incidents (an alert storm): each new alert is an
      # alert row, an incident alert row, a timeline row (up to its bound) and an incident update.
      BENCH_EXTRA="correlation: {default_group_by: [check]}" \
        run durable-grouped --mode http-ndjson --events "$(n 1000000 10000)" --distinct "$(n 1000000 10000)" --batch 1000 --connections 8
      stored "$(n 1000000 10000)" ;;
    webhook) run webhook --mode am-webhook --events "$(n 1000000 10000)" --distinct "$(n 100000 1000)" --batch 100 --connections 4 ;;
    pagerduty) run pagerduty --mode pagerduty --events "$(n 200000 2000)" --distinct "$(n 10000 100)" --connections 4 ;;
    kafka)
      # The Kafka input draining a backlog: events (one per message, 80 partitions: the mock
      # brokers keep about 5 MB per partition) produced into librdkafka's mock cluster first,
      # then a fresh triaged consumes them all; timed from its first accepted event to the last
      # (the group join before it is reported apart).
      total=$(n 2000000 20000); distinct=$(n 100000 1000)
      mkfifo "$work/kafka.in"
      "$build/triaged-kafka-mock" cluster --topic alerts:80 < "$work/kafka.in" > "$work/kafka.boot" 2>/dev/null &
      kpid=$!
      exec {kfd}>"$work/kafka.in"  # the cluster serves until this closes
      for _ in $(seq 1 500); do [ -s "$work/kafka.boot" ] && break; sleep 0.02; done
      boot=$(head -1 "$work/kafka.boot")
      awk -v n="$total" -v d="$distinct" 'BEGIN { for (i = 0; i < n; i++)
        printf "{\"resource\":\"host%d\",\"check\":\"DiskFull\",\"severity\":\"major\",\"service\":\"storage\",\"labels\":{\"team\":\"storage\",\"dc\":\"fra1\"}}\n", i % d }' > "$work/kafka.ndjson"
      t0=$(date +%s.%N)
      "$build/triaged-kafka-mock" produce --bootstrap "$boot" --topic alerts --partitions 80 < "$work/kafka.ndjson" >/dev/null
      echo "### kafka: $total events produced in $(echo "$(date +%s.%N) - $t0" | bc) s (cores: $(nproc), state: ${BENCH_BACKEND:-sqlite})"
      BENCH_INPUTS="  - {type: kafka, brokers: [\"$boot\"], topics: [alerts], resolve_timeout: 1h${BENCH_KAFKA_EXTRA:+, $BENCH_KAFKA_EXTRA}}" start
      t0=$(date +%s.%N); first=""
      last=0; still=0; longest=0
      for _ in $(seq 1 6000); do  # at most 10 minutes, and 30 s without progress
        got=$(curl -s "127.0.0.1:$http/metrics" | sed -n 's/^triaged_input_events_accepted_total{input="kafka"} //p')
        got=${got:-0}
        if [ "${got%.*}" -eq "$last" ]; then still=$((still + 1)); else still=0; last=${got%.*}; fi
        [ -n "$first" ] && [ "$still" -gt "$longest" ] && longest=$still
        [ "$still" -ge 300 ] && break
        if [ -z "$first" ] && [ "${got%.*}" -gt 0 ]; then first=$(date +%s.%N); firstn=${got%.*}; fi
        [ "${got%.*}" -ge "$total" ] && break
        sleep 0.1
      done
      t1=$(date +%s.%N)
      matched=$(curl -s "127.0.0.1:$http/api/v1/alerts?limit=1" | sed -n 's/.*"matched":\([0-9]*\).*/\1/p')
      echo "consumed ${got%.*} of $total events ($(( ${got%.*} - total )) read again: at least once); $matched alerts (want $distinct)"
      echo "group join and first batch: $(echo "$first - $t0" | bc) s; then $(echo "($total - $firstn) / ($t1 - $first)" | bc) events/s (longest pause after the first batch: $(echo "$longest / 10" | bc -l | cut -c1-4) s)"
      echo "daemon peak RSS: $(sed -n 's/^VmHWM: *//p' "/proc/$(cat "$work/pid")/status")"
      if [ "${got%.*}" -lt "$total" ]; then  # what the consumers were doing when it stalled
        curl -s "127.0.0.1:$http/metrics" | grep -E '^triaged_kafka_(partitions_assigned|paused|rebalances|errors)|^triaged_pipeline_(queue|inflight)' >&2
        tail -n 30 "$work/log" >&2
      fi
      stop
      exec {kfd}>&-
      wait "$kpid" || true
      [ "${got%.*}" -ge "$total" ] && [ "$matched" -eq "$distinct" ] || { echo "kafka: counts differ" >&2; exit 1; }
      # The same events over the TCP input (one connection, written as fast as it reads), into
      # a fresh daemon: what the Kafka input costs over the plainest input, in the same run.
      start
      t0=$(date +%s.%N)
      cat "$work/kafka.ndjson" > "/dev/tcp/127.0.0.1/$tcp"
      for _ in $(seq 1 6000); do  # at most 5 minutes
        got=$(curl -s "127.0.0.1:$http/metrics" | sed -n 's/^triaged_input_events_accepted_total{input="ndjson_tcp"} //p')
        [ "${got:-0}" != 0 ] && [ "${got%.*}" -ge "$total" ] && break
        sleep 0.05
      done
      t1=$(date +%s.%N)
      matched=$(curl -s "127.0.0.1:$http/api/v1/alerts?limit=1" | sed -n 's/.*"matched":\([0-9]*\).*/\1/p')
      echo "the same events over one TCP connection: $(echo "$total / ($t1 - $t0)" | bc) events/s; $matched alerts"
      stop
      [ "${got%.*}" -ge "$total" ] && [ "$matched" -eq "$distinct" ] || { echo "kafka (tcp): counts differ" >&2; exit 1; } ;;
    *) echo "unknown scenario $s" >&2; exit 2 ;;
  esac
done
