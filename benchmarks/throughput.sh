#!/usr/bin/env bash
# Simulator throughput: run-ticks per second of `monte_carlo` on the default
# configuration, on one thread and on every thread, several repetitions each.
#
#   benchmarks/throughput.sh                 # 10000 runs x 600 ticks, 5 repetitions
#   RUNS=20000 REPS=9 benchmarks/throughput.sh
#
# Prints figures only; it never fails on a slow machine (exit status is non-zero only
# when the build or a run fails). The figure is the one monte_carlo prints itself: the
# simulation alone, without writing the outputs. The machine may be shared: the load
# average is printed before and after, so a reader can tell a quiet measurement from a
# busy one.
set -euo pipefail

RUNS=${RUNS:-10000}
TICKS=${TICKS:-600}
REPS=${REPS:-5}
SEED=${SEED:-1}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

cargo build --release --quiet -p paraphina --bin monte_carlo
bin="$root/target/release/monte_carlo"

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

cores=$(nproc)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "machine: ${cores} cores (nproc), CPU: ${cpu:-unknown}"
echo "load average before: $(cut -d ' ' -f 1-3 /proc/loadavg)"
# Time stolen by the hypervisor shows a host busy with other guests, which the load
# average inside this machine does not.
read -r _ u0 n0 s0 i0 w0 q0 sq0 st0 _ < /proc/stat
echo "workload: ${RUNS} runs x ${TICKS} ticks, default configuration, ${REPS} repetitions per thread count"

# Unset any PARAPHINA_* knob of the caller's shell: the benchmark measures the defaults.
while read -r name; do unset "$name"; done < <(env | sed -n 's/^\(PARAPHINA_[A-Za-z0-9_]*\)=.*/\1/p')

# One run's throughput in M run-ticks/s, as monte_carlo reports it.
measure() {
    "$bin" --runs "$RUNS" --ticks "$TICKS" --seed "$SEED" --threads "$1" --output-dir "$out/t$1" 2>&1 \
        | sed -n 's/.*: \([0-9.]*\) M run-ticks\/s.*/\1/p'
}

# Best and median of the numbers on standard input.
best_median() {
    sort -g | awk '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.2f %.2f\n", v[NR], m }'
}

thread_counts=(1)
if [ "$cores" -gt 1 ]; then thread_counts+=("$cores"); fi
declare -A best median
for threads in "${thread_counts[@]}"; do
    samples=()
    for _ in $(seq "$REPS"); do
        samples+=("$(measure "$threads")")
    done
    read -r best[$threads] median[$threads] < <(printf '%s\n' "${samples[@]}" | best_median)
    printf '%2d thread(s): best %6.2f M run-ticks/s, median %6.2f  (samples: %s)\n' \
        "$threads" "${best[$threads]}" "${median[$threads]}" "${samples[*]}"
done

one=${best[1]}
all=${best[$cores]}
awk -v one="$one" -v all="$all" -v m1="${median[1]}" -v mall="${median[$cores]}" -v n="$cores" 'BEGIN {
    printf "per core (1 thread, best): %.2f M run-ticks/s; target >= 5: %s\n", one, (one >= 5 ? "met" : "not met")
    printf "speedup on %d threads: best %.2fx, median %.2fx", n, all / one, mall / m1
    if (n >= 2) printf "; target 2 threads >= 1.8x: %s", (all / one >= 1.8 ? "met" : "not met")
    printf "\n"
}'
read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ < /proc/stat
total=$(( (u1 + n1 + s1 + i1 + w1 + q1 + sq1 + st1) - (u0 + n0 + s0 + i0 + w0 + q0 + sq0 + st0) ))
stolen=$(awk -v s=$((st1 - st0)) -v t="$total" 'BEGIN { printf "%.1f", (t > 0 ? 100 * s / t : 0) }')
echo "load average after: $(cut -d ' ' -f 1-3 /proc/loadavg); CPU time stolen by the host during the runs: ${stolen} %"
