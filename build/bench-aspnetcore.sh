#!/usr/bin/env bash
# Request-rate benchmark of UseCorrelation() + UseSerilogRequestLogging() writing to the rolling JSON sink
# (issue 7, goal: the pair costs at most 10% of requests per second).
#
# Builds tests/Serilog.Extensions.Observability.PerformanceTests.AspNetCore in Release; for every run and every
# mode (alternating) starts the app as its own process on 127.0.0.1 (a free port), warms it up, drives GET /ping
# with wrk (installed through apt-get when missing, running as root and apt works) or else with the app's own
# HttpClient load generator, stops it, and prints requests/s per run, the mean per mode and the ratio to the
# first mode.
#
#   build/bench-aspnetcore.sh [--runs 3] [--duration 10] [--warmup 5] [--connections 32]
#                             [--modes "bare observed"] [--loader auto|wrk|dotnet]
#
# Modes: bare, host, correlation, requestlog, observed, observed-nofile, observed-lean, requestlog-off, and the
# reference points floor, floor-nofile, peer, peer-async (see the app's Program.cs). Server CPU per request (user +
# system, read from /proc) is printed beside requests/s: it is far less sensitive than throughput to other work on a
# shared machine. Bytes allocated per request (the whole process, start-up included, divided by the requests answered) and
# the server's GC counts follow on the same line.
# Only one benchmark at a time on a shared machine: flock /tmp/seo-bench.lock build/bench-aspnetcore.sh
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3
duration=10
warmup=5
connections=32
modes="bare observed"
loader=auto
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --duration) duration="$2"; shift 2 ;;
    --warmup) warmup="$2"; shift 2 ;;
    --connections) connections="$2"; shift 2 ;;
    --modes) modes="$2"; shift 2 ;;
    --loader) loader="$2"; shift 2 ;;
    -h|--help) sed -n '2,19p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done

project=tests/Serilog.Extensions.Observability.PerformanceTests.AspNetCore
dll="$project/bin/Release/net10.0/Serilog.Extensions.Observability.PerformanceTests.AspNetCore.dll"

work="$(mktemp -d "${TMPDIR:-/tmp}/seo-bench-aspnetcore.XXXXXX")"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    # Bounded: give it 15 s to flush, then kill it.
    for _ in $(seq 1 150); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$loader" = auto ]; then
  if ! command -v wrk >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "wrk not found; trying apt-get install -y wrk" >&2
    apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1; } || true
  fi
  if command -v wrk >/dev/null 2>&1; then loader=wrk; else loader=dotnet; fi
fi

echo "building $project (Release)" >&2
dotnet build -c Release "$project" -nologo -v q >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }

# drive <url> <seconds> <output file>: sets drive_rps and drive_requests.
drive() {
  local url="$1" seconds="$2" out="$3"
  if [ "$loader" = wrk ]; then
    # One wrk thread: client and server share the machine's cores.
    wrk -t1 -c"$connections" -d"${seconds}s" "$url" >"$out" 2>&1
  else
    DOTNET_gcServer=0 dotnet "$dll" load "$url" "$seconds" "$connections" >"$out" 2>&1
  fi
  if grep -q 'Non-2xx' "$out" || grep -q ' [1-9][0-9]* failed' "$out"; then
    echo "warning: failed requests in $out:" >&2; cat "$out" >&2
  fi
  drive_rps="$(awk '/^Requests\/sec:/ { print $2; exit }' "$out")"
  drive_requests="$(awk '/ requests in / { print $1; exit }' "$out")"
  if [ -z "$drive_rps" ] || [ -z "$drive_requests" ]; then echo "the load generator failed:" >&2; cat "$out" >&2; exit 1; fi
}

# cpu_ticks <pid>: user + system CPU of the process so far, in clock ticks.
cpu_ticks() {
  # Fields after the ")" that ends the command name: utime and stime are the 12th and 13th.
  sed 's/.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'
}
clock_ticks="$(getconf CLK_TCK)"

# run_one <mode> <run>: sets run_rps and run_cpu_us (server CPU microseconds per request); runs in this shell so
# the EXIT trap knows the server's pid.
run_one() {
  local mode="$1" run="$2"
  local dir="$work/$mode-$run"
  mkdir -p "$dir/logs"
  : >"$dir/server.out"
  ASPNETCORE_ENVIRONMENT=Production dotnet "$dll" serve "$mode" 0 "$dir/logs" >"$dir/server.out" 2>&1 &
  server_pid=$!
  local url=""
  for _ in $(seq 1 300); do
    url="$(awk '/^listening / { print $2; exit }' "$dir/server.out")"
    [ -n "$url" ] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$url" ]; then echo "server ($mode) did not start:" >&2; cat "$dir/server.out" >&2; exit 1; fi

  drive "$url/ping" "$warmup" "$dir/warmup.out"
  local sent="$drive_requests" before after rps requests cpu_us
  before="$(cpu_ticks "$server_pid")"
  drive "$url/ping" "$duration" "$dir/load.out"
  rps="$drive_rps"; requests="$drive_requests"; sent=$((sent + requests))
  # Let the file writer finish its backlog so its CPU is counted with the requests that caused it.
  sleep 1
  after="$(cpu_ticks "$server_pid")"
  cpu_us="$(awk -v t="$((after - before))" -v hz="$clock_ticks" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')"

  kill -TERM "$server_pid"
  for _ in $(seq 1 300); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
  local sink lines alloc runtime
  sink="$(awk '/^sink / { print $2, $3; exit }' "$dir/server.out")"
  alloc="$(awk -v n="$sent" '/^gc allocated=/ { split($2, a, "="); printf "%.0f B/request, %s %s %s", a[2] / n, $3, $4, $5; exit }' "$dir/server.out")"
  runtime="$(awk '/^runtime / { print $2; exit }' "$dir/server.out")"
  lines="$(find "$dir/logs" -type f -name '*.json' -exec cat {} + | wc -l)"
  printf '  run %s %-16s %8.0f req/s %7s server CPU us/request   (%s requests answered; sink %s; %s lines in the log files; %s %s)\n' \
    "$run" "$mode" "$rps" "$cpu_us" "$sent" "${sink:-none}" "$lines" "${alloc:-no gc line}" "${runtime:-}" >&2
  rm -rf "$dir/logs"
  run_rps="$rps"; run_cpu_us="$cpu_us"
}

echo "machine: $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), client and server on the same cores" >&2
echo "dotnet $(dotnet --version); loader: $loader; $runs run(s) x ${duration}s after ${warmup}s warm-up; $connections connections" >&2

declare -A rps_of cpu_of
for run in $(seq 1 "$runs"); do
  for mode in $modes; do
    run_one "$mode" "$run"
    rps_of["$mode,$run"]="$run_rps"; cpu_of["$mode,$run"]="$run_cpu_us"
  done
done

first="$(echo "$modes" | awk '{ print $1 }')"
printf '\n| mode | %smean req/s | ratio | server CPU us/request (mean) | CPU ratio |\n' "$(for run in $(seq 1 "$runs"); do printf 'run %s | ' "$run"; done)"
printf '|---|%s---:|---:|---:|---:|\n' "$(for _ in $(seq 1 "$runs"); do printf -- '---:|'; done)"
base_rps=""; base_cpu=""
for mode in $modes; do
  rps_values=""; cpu_values=""
  for run in $(seq 1 "$runs"); do
    rps_values="$rps_values ${rps_of[$mode,$run]}"
    cpu_values="$cpu_values ${cpu_of[$mode,$run]}"
  done
  mean_rps="$(echo "$rps_values" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.0f", s / NF }')"
  mean_cpu="$(echo "$cpu_values" | awk '{ s = 0; for (i = 1; i <= NF; i++) s += $i; printf "%.1f", s / NF }')"
  [ -z "$base_rps" ] && { base_rps="$mean_rps"; base_cpu="$mean_cpu"; }
  printf '| %s | %s%s | %s | %s | %s |\n' "$mode" "$(for v in $rps_values; do printf '%.0f | ' "$v"; done)" "$mean_rps" \
    "$(awk -v m="$mean_rps" -v b="$base_rps" 'BEGIN { printf "%.3f", m / b }')" "$mean_cpu" \
    "$(awk -v m="$mean_cpu" -v b="$base_cpu" 'BEGIN { printf "%.2f", m / b }')"
done
echo
echo "ratio = mean req/s / mean req/s of $first (goal for observed: >= 0.900); CPU ratio = server CPU per request / that of $first"
