#!/usr/bin/env bash
# Memory under sustained load: a real vigil watching MODELS models × FEATURES features
# (streaming windows by default), fed by `vigil loadgen` as fast as it accepts for DURATION;
# prints vigil's RSS (VmRSS) every STEP seconds. See docs/performance.md.
#
#   bench/soak.sh [MODELS] [FEATURES] [DURATION] [STEP]
#
# HEAP=FILE also saves a heap profile (/debug/pprof/heap) taken just before the load ends.
# GLOBAL='max_pending_labels: 500000' adds fields to the config's global section.
# CGROUP_MEMORY=512M runs vigil in a cgroup v1 memory group of that limit (needs root), as
# a container with limits.memory would: vigil sets GOMEMLIMIT from it, and the kernel's
# OOM killer ends vigil if it goes past it (reported at the end).
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
	sed "s#evaluation_interval: 10s#evaluation_interval: ${EVAL:-10s}, storage_path: $work/data${GLOBAL:+, $GLOBAL}#" >"$work/soak.yaml"
run=("$work/vigil" run --config.file "$work/soak.yaml" --web.listen-address "127.0.0.1:$port" --web.enable-pprof)
cg=
if [ -n "${CGROUP_MEMORY:-}" ]; then
	cg=/sys/fs/cgroup/memory/vigil-soak-$$
	mkdir "$cg"
	echo "$CGROUP_MEMORY" >"$cg/memory.limit_in_bytes"
	echo 0 >"$cg/memory.swappiness" 2>/dev/null || true
	run=(sh -c 'echo $$ > "$0" && exec "$@"' "$cg/cgroup.procs" "${run[@]}")
fi
"${run[@]}" 2>"$work/vigil.log" &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; [ -z "$cg" ] || rmdir "$cg"; rm -rf "$work"' EXIT
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
	kill -0 $lg 2>/dev/null && kill -0 $pid 2>/dev/null && echo "t=${t}s rss=$(rss)MiB cpu=$(cpu)s"
	if [ -n "${HEAP:-}" ] && kill -0 $lg 2>/dev/null; then
		curl -sf -o "$HEAP" "http://127.0.0.1:$port/debug/pprof/heap"
	fi
done
wait $lg || true
if kill -0 $pid 2>/dev/null; then
	echo "end rss=$(rss)MiB cpu=$(cpu)s"
else
	echo "vigil is gone:"; tail -3 "$work/vigil.log"
fi
if [ -n "$cg" ]; then
	echo "cgroup $CGROUP_MEMORY: peak $(($(cat "$cg/memory.max_usage_in_bytes") >> 20))MiB, $(grep oom_kill "$cg/memory.oom_control" || echo 'oom_kill ?')"
	grep GOMEMLIMIT "$work/vigil.log" | head -1
fi
cat "$work/report.txt"
