#!/usr/bin/env bash
# Simulator throughput: run-ticks per second of `monte_carlo` on the default
# configuration, on one thread and on every thread, several repetitions each.
#
#   benchmarks/throughput.sh                 # 10000 runs x 600 ticks, 5 repetitions
#   RUNS=20000 REPS=9 benchmarks/throughput.sh
#
# Side by side with a baseline (same machine, same run, same workload): the two binaries
# run alternately (baseline, candidate, then candidate, baseline, ...), so a change of
# load during the measurement hits both alike; prints both figures and the ratio.
#
#   BASELINE=<commit> benchmarks/throughput.sh        # builds <commit> in a temporary
#                                                     # git worktree under /tmp
#   BASELINE_BIN=/path/to/monte_carlo benchmarks/throughput.sh
#   CANDIDATE_BIN=/path/to/monte_carlo ...            # instead of building this tree
#
# Prints figures only; it never fails on a slow machine (exit status is non-zero only
# when a build or a run fails). The figure is the one monte_carlo prints itself: the
# simulation alone, without writing the outputs. The machine may be shared: the load
# average is printed before and after, so a reader can tell a quiet measurement from a
# busy one.
set -euo pipefail

RUNS=${RUNS:-10000}
TICKS=${TICKS:-600}
REPS=${REPS:-5}
SEED=${SEED:-1}
BASELINE=${BASELINE:-}
BASELINE_BIN=${BASELINE_BIN:-}
CANDIDATE_BIN=${CANDIDATE_BIN:-}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

out=$(mktemp -d)
baseline_tree=""
cleanup() {
    rm -rf "$out"
    if [ -n "$baseline_tree" ]; then
        git -C "$root" worktree remove --force "$baseline_tree" >/dev/null 2>&1 || true
        rm -rf "$baseline_tree" "$baseline_tree.target"
    fi
}
trap cleanup EXIT

if [ -n "$CANDIDATE_BIN" ]; then
    bin=$CANDIDATE_BIN
    candidate_label="candidate $bin"
else
    cargo build --release --quiet -p paraphina --bin monte_carlo
    bin="$root/target/release/monte_carlo"
    candidate_label="candidate: this tree ($(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ', uncommitted changes'))"
fi

base_bin=""
if [ -n "$BASELINE" ]; then
    commit=$(git -C "$root" rev-parse --verify "$BASELINE^{commit}")
    baseline_tree=$(mktemp -d /tmp/paraphina-baseline.XXXXXX)
    rmdir "$baseline_tree"
    git -C "$root" worktree add --detach --quiet "$baseline_tree" "$commit"
    echo "building baseline ${commit:0:12} in $baseline_tree ..."
    (cd "$baseline_tree" && CARGO_TARGET_DIR="$baseline_tree.target" \
        cargo build --release --quiet -p paraphina --bin monte_carlo)
    base_bin="$baseline_tree.target/release/monte_carlo"
    baseline_label="baseline: commit ${commit:0:12}"
elif [ -n "$BASELINE_BIN" ]; then
    base_bin=$BASELINE_BIN
    baseline_label="baseline: $base_bin"
fi

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

# One run's throughput in M run-ticks/s, as monte_carlo reports it: measure BIN THREADS TAG.
measure() {
    "$1" --runs "$RUNS" --ticks "$TICKS" --seed "$SEED" --threads "$2" --output-dir "$out/$3-t$2" 2>&1 \
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

# Prints the load and stolen time since the start.
finish() {
    read -r _ u1 n1 s1 i1 w1 q1 sq1 st1 _ < /proc/stat
    total=$(( (u1 + n1 + s1 + i1 + w1 + q1 + sq1 + st1) - (u0 + n0 + s0 + i0 + w0 + q0 + sq0 + st0) ))
    stolen=$(awk -v s=$((st1 - st0)) -v t="$total" 'BEGIN { printf "%.1f", (t > 0 ? 100 * s / t : 0) }')
    echo "load average after: $(cut -d ' ' -f 1-3 /proc/loadavg); CPU time stolen by the host during the runs: ${stolen} %"
}

if [ -z "$base_bin" ]; then
    declare -A best median
    for threads in "${thread_counts[@]}"; do
        samples=()
        for _ in $(seq "$REPS"); do
            samples+=("$(measure "$bin" "$threads" c)")
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
    finish
    exit 0
fi

echo "$baseline_label"
echo "$candidate_label"
for threads in "${thread_counts[@]}"; do
    base_samples=()
    cand_samples=()
    for rep in $(seq "$REPS"); do
        # Alternate which binary goes first, so neither always runs on a warmer machine.
        if [ $((rep % 2)) -eq 1 ]; then
            base_samples+=("$(measure "$base_bin" "$threads" b)")
            cand_samples+=("$(measure "$bin" "$threads" c)")
        else
            cand_samples+=("$(measure "$bin" "$threads" c)")
            base_samples+=("$(measure "$base_bin" "$threads" b)")
        fi
    done
    read -r bb bm < <(printf '%s\n' "${base_samples[@]}" | best_median)
    read -r cb cm < <(printf '%s\n' "${cand_samples[@]}" | best_median)
    printf '%2d thread(s): baseline  best %6.2f M run-ticks/s, median %6.2f  (samples: %s)\n' \
        "$threads" "$bb" "$bm" "${base_samples[*]}"
    printf '%2d thread(s): candidate best %6.2f M run-ticks/s, median %6.2f  (samples: %s)\n' \
        "$threads" "$cb" "$cm" "${cand_samples[*]}"
    awk -v bb="$bb" -v bm="$bm" -v cb="$cb" -v cm="$cm" -v n="$threads" 'BEGIN {
        printf "%2d thread(s): candidate / baseline: best %.3f, median %.3f\n", n, cb / bb, cm / bm }'
    # Same workload, so the same data files unless the two commits differ in results.
    if cmp -s "$out/b-t$threads/mc_runs.jsonl" "$out/c-t$threads/mc_runs.jsonl" \
        && cmp -s "$out/b-t$threads/mc_summary.json" "$out/c-t$threads/mc_summary.json"; then
        echo "    outputs (mc_runs.jsonl, mc_summary.json): identical"
    else
        echo "    outputs (mc_runs.jsonl, mc_summary.json): DIFFERENT"
    fi
done
finish
