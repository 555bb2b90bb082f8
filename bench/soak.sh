#!/usr/bin/env bash
# Memory under sustained load: a real vigil watching MODELS models × FEATURES features
# (streaming windows by default), fed by `vigil loadgen` as fast as it accepts for DURATION;
# prints vigil's RSS (VmRSS) every STEP seconds. See docs/performance.md.
#
#   bench/soak.sh [MODELS] [FEATURES] [DURATION] [STEP]
#
# HEAP=FILE also saves a heap profile (/debug/pprof/heap) taken just before the load ends.
set -euo pipefail
cd "$(dirname "$0")/.."

models=${1:-100}
features=${2:-100}
duration=${3:-10m}
step=${4:-30}
work=$(mktemp -d /tmp/vigil-soak.XXXXXX)
port=${PORT:-19790}
flags=(--model soak --models "$models" --features "$features" --categorical 2 --window-size "${WINDOW:-10000}" --window-mode "${MODE:-streaming}")

go build -o "$work/vigil" ./cmd/vigil
"$work/vigil" loadgen "${flags[@]}" --print-config |
	sed "s#evaluation_interval: 10s#evaluation_interval: ${EVAL:-10s}, storage_path: $work/data#" >"$work/soak.yaml"
"$work/vigil" run --config.file "$work/soak.yaml" --web.listen-address "127.0.0.1:$port" --web.enable-pprof 2>"$work/vigil.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
	curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break
	sleep 0.1
done
rss() { awk '/^VmRSS/ {printf "%d", $2 / 1024}' "/proc/$pid/status"; }
cpu() { awk -v t="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / t}' "/proc/$pid/stat"; }
echo "t=0s rss=$(rss)MiB cpu=$(cpu)s (${models} models x ${features} features, ${MODE:-streaming})"
"$work/vigil" loadgen "${flags[@]}" --url "http://127.0.0.1:$port" --duration "$duration" --labels 0.5 >"$work/report.txt" &
lg=$!
t=0
while kill -0 $lg 2>/dev/null; do
	sleep "$step"
	t=$((t + step))
	kill -0 $lg 2>/dev/null && echo "t=${t}s rss=$(rss)MiB cpu=$(cpu)s"
	if [ -n "${HEAP:-}" ] && kill -0 $lg 2>/dev/null; then
		curl -sf -o "$HEAP" "http://127.0.0.1:$port/debug/pprof/heap"
	fi
done
wait $lg || true
echo "end rss=$(rss)MiB cpu=$(cpu)s"
cat "$work/report.txt"
