#!/usr/bin/env bash
# Side-by-side redis-benchmark of memimgd and redis-server, both durable
# (fsync before reply), plus memory with 1,000,000 keys of 64-byte values.
#
#   bash bench/redis_vs_memimg.sh                 # full run (as in docs/benchmarks.md)
#   N=20000 KEYS=50000 ROUNDS=1 bash bench/redis_vs_memimg.sh   # short form (CI)
#
# Everything runs on 127.0.0.1 on ports chosen at run time, in a temp dir;
# servers are stopped by PID. Needs redis-server, redis-cli, redis-benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${N:-200000}          # requests per redis-benchmark test
CLIENTS=${CLIENTS:-50}
ROUNDS=${ROUNDS:-3}     # alternate memimg/redis this many times; report the median
KEYS=${KEYS:-1000000}   # keys for the memory measurement
TESTS=${TESTS:-set,get,incr}

for t in redis-server redis-cli redis-benchmark; do
  command -v $t >/dev/null || { echo "bench: $t not found (apt-get install redis-server redis-tools)"; exit 1; }
done

work=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT

go build -o "$work/memimgd" ./cmd/memimgd

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_ping() { for _ in $(seq 200); do redis-cli -p "$1" PING >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "bench: server on $1 did not start"; exit 1; }

start_memimg() { # port dir
  mkdir -p "$2"
  "$work/memimgd" --port "$1" --dir "$2" --appendfsync always --loglevel warning >"$2.log" 2>&1 &
  pids+=($!); echo $! >"$2.pid"; wait_ping "$1"
}
start_redis() { # port dir
  mkdir -p "$2"
  redis-server --port "$1" --dir "$2" --appendonly yes --appendfsync always --save '' \
    --daemonize no --logfile "$2.log" &
  pids+=($!); echo $! >"$2.pid"; wait_ping "$1"
}
stop() { # dir
  local p; p=$(cat "$1.pid"); kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
}

rss_kb() { awk '/VmRSS/ {print $2}' /proc/"$1"/status; }
info_field() { redis-cli -p "$1" INFO memory | tr -d '\r' | awk -F: -v f="$2" '$1==f {print $2}'; }

echo "# machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB, $(uname -r)"
echo "# redis: $(redis-server --version | awk '{print $3}')"
echo "# redis-benchmark -t $TESTS -c $CLIENTS -n $N -q, $ROUNDS rounds alternating"

results="$work/results.txt"
for round in $(seq "$ROUNDS"); do
  for sys in memimg redis; do
    port=$(free_port); dir="$work/$sys-$round"
    start_$sys "$port" "$dir"
    out="$work/$sys-$round.out"
    redis-benchmark -p "$port" -t "$TESTS" -c "$CLIENTS" -n "$N" -q >"$out" 2>&1 || { echo "bench: redis-benchmark failed on $sys"; cat "$out"; exit 1; }
    if tr '\r' '\n' <"$out" | grep -i 'error' >&2; then echo "bench: $sys answered errors (above)"; exit 1; fi
    tr '\r' '\n' <"$out" | grep 'requests per second' |
      while read -r line; do
        # "LRANGE_100 (first 100 elements)" -> LRANGE_100; "LPUSH (needed to benchmark LRANGE)" -> LPUSH_for_LRANGE
        test=$(echo "$line" | cut -d: -f1 | sed -e 's/ (needed to benchmark LRANGE)/_for_LRANGE/' -e 's/ (.*//' -e 's/ /_/g'); rps=$(echo "$line" | awk '{for(i=1;i<=NF;i++) if ($i=="requests") print $(i-1)}')
        p50=$(echo "$line" | sed -n 's/.*p50=\([0-9.]*\).*/\1/p')
        echo "$sys $test $rps $p50" >>"$results"
      done
    stop "$dir"
  done
done

echo
echo "| test | memimg req/s (median) | redis req/s (median) | memimg / redis | memimg p50 ms | redis p50 ms |"
echo "|---|---|---|---|---|---|"
median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
for test in $(awk '{print $2}' "$results" | awk '!seen[$0]++'); do
  m=$(awk -v t="$test" '$1=="memimg" && $2==t {print $3}' "$results" | median)
  r=$(awk -v t="$test" '$1=="redis" && $2==t {print $3}' "$results" | median)
  mp=$(awk -v t="$test" '$1=="memimg" && $2==t {print $4}' "$results" | median)
  rp=$(awk -v t="$test" '$1=="redis" && $2==t {print $4}' "$results" | median)
  ratio=$(awk -v a="$m" -v b="$r" 'BEGIN { if (b>0) printf "%.2f", a/b; else print "-" }')
  echo "| $test | $m | $r | $ratio | $mp | $rp |"
done

# Memory: the same KEYS keys of 64-byte values, loaded with redis-cli --pipe.
echo
echo "Memory with $KEYS keys of 64-byte values (loaded with redis-cli --pipe):"
python3 - "$KEYS" >"$work/load.resp" <<'PY'
import sys
n = int(sys.argv[1]); v = b"v" * 64; out = sys.stdout.buffer
for i in range(n):
    k = b"key:%012d" % i
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$64\r\n%s\r\n" % (len(k), k, v))
PY
echo
echo "| system | used_memory (after MEMORY PURGE) | RSS after load | RSS after MEMORY PURGE | keys |"
echo "|---|---|---|---|---|"
for sys in memimg redis; do
  port=$(free_port); dir="$work/$sys-mem"
  start_$sys "$port" "$dir"
  redis-cli -p "$port" --pipe <"$work/load.resp" >/dev/null
  sleep 1
  rss=$(( $(rss_kb "$(cat "$dir.pid")") * 1024 ))
  # MEMORY PURGE: a full collection (memimg) / jemalloc purge (redis), so
  # used_memory counts live data only; RSS is shown before and after.
  redis-cli -p "$port" MEMORY PURGE >/dev/null
  sleep 1
  used=$(info_field "$port" used_memory); rss2=$(( $(rss_kb "$(cat "$dir.pid")") * 1024 ))
  keys=$(redis-cli -p "$port" DBSIZE)
  echo "| $sys | $((used/1024/1024)) MiB ($used) | $((rss/1024/1024)) MiB | $((rss2/1024/1024)) MiB | $keys |"
  stop "$dir"
done
