#!/usr/bin/env bash
# Whole-daemon ingest throughput: a real vigil (go build) fed by `vigil loadgen` on the same
# machine. Prints accepted events/s, vigil's CPU time and events per CPU-second, request
# latency percentiles, and RSS before and after. See docs/performance.md.
#
#   bench/ingest.sh [COUNT] [CONCURRENCY] [extra loadgen flags...]
#
# Defaults: 2,000,000 predictions of 20 features (2 categorical) in batches of 1,000,
# 2 requests in flight, no labels. The first 100,000 fill the reference and are not timed.
# VIGIL_FLAGS adds flags to `vigil run` (--web.enable-pprof to profile it while it runs).
# TRANSPORT=cloudevents sends the timed part as KServe payload-logger CloudEvents;
# TRANSPORT=kafka KAFKA_BROKERS=host:port produces it to Kafka (bench/kfake runs an
# in-process Kafka for that).
set -euo pipefail
cd "$(dirname "$0")/.."

count=${1:-2000000}
concurrency=${2:-2}
shift $(($# > 2 ? 2 : $#))
work=$(mktemp -d /tmp/vigil-ingest.XXXXXX)
port=${PORT:-19780}
flags=(--model lg --features 20 --categorical 2 --window-size "${WINDOW:-100000}" --window-mode "${MODE:-exact}")
transport=(--transport "${TRANSPORT:-http}")
if [ -n "${KAFKA_BROKERS:-}" ]; then
	transport+=(--kafka-brokers "$KAFKA_BROKERS")
fi

go build -o "$work/vigil" ./cmd/vigil
"$work/vigil" loadgen "${flags[@]}" "${transport[@]}" --print-config |
	sed "s#evaluation_interval: 10s#evaluation_interval: ${EVAL:-10s}, storage_path: $work/data#" >"$work/lg.yaml"
"$work/vigil" run --config.file "$work/lg.yaml" --web.listen-address "127.0.0.1:$port" ${VIGIL_FLAGS:-} 2>"$work/vigil.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 50); do
	curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
	sleep 0.1
done

cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; } # utime + stime, clock ticks
rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; } # KiB
tck=$(getconf CLK_TCK)

# Warm-up: fill the first-N reference so the timed run sees the steady state.
"$work/vigil" loadgen "${flags[@]}" --url "http://127.0.0.1:$port" --count 100000 --labels 0 --seed 99 >/dev/null
rss0=$(rss)
cpu0=$(cpu)
"$work/vigil" loadgen "${flags[@]}" "${transport[@]}" --url "http://127.0.0.1:$port" --count "$count" --batch-size 1000 \
	--concurrency "$concurrency" --labels 0 --output json "$@" >"$work/report.json" || true
cpu1=$(cpu)
rss1=$(rss)
jq -r --argjson cpu "$(((cpu1 - cpu0)))" --argjson tck "$tck" --argjson rss0 "$rss0" --argjson rss1 "$rss1" '
	.predictions as $p | ($cpu / $tck) as $secs |
	"predictions sent \($p.sent), accepted \($p.accepted) (equal: \($p.sent == $p.accepted and $p.failed == 0)), rejected \($p.rejected), 429s \($p.throttled)",
	"wall \(.seconds | . * 1000 | round / 1000)s: \($p.accepted_per_second | round) accepted events/s",
	"vigil CPU \($secs)s: \($p.accepted / $secs | round) events per vigil CPU-second, \($p.accepted * 20 / $secs | round) feature values per CPU-second",
	"latency ms: p50 \($p.latency.p50_ns / 1e6) p90 \($p.latency.p90_ns / 1e6) p99 \($p.latency.p99_ns / 1e6) max \($p.latency.max_ns / 1e6) over \($p.latency.count) requests",
	"vigil RSS: \($rss0 / 1024 | round) MiB before, \($rss1 / 1024 | round) MiB after"' "$work/report.json"
