#!/usr/bin/env bash
# Builds every fuzz target and runs each for a short time from its committed seeds
# (fuzz/seeds/<target>) plus its local corpus (fuzz/corpus/<target>, git-ignored). Any crash,
# timeout or out-of-memory fails the run; the input that caused it is left in
# fuzz/artifacts/<target>/.
#
#   fuzz/ci.sh [SECONDS_PER_TARGET] [TARGET...]      (default: 15 s, every target)
#
# FUZZ_SEED=N fixes libFuzzer's seed, so a short CI run explores the same inputs each time
# (how far it gets still depends on the machine's speed).
#
# Stable Rust is enough: `-s none` turns the sanitizer off, which is what needs nightly.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-15}"
shift || true
CARGO_FUZZ_VERSION=0.13.2
if [ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]; then
    cargo install --locked cargo-fuzz --version "$CARGO_FUZZ_VERSION"
fi
# 16 codegen units: the layer-229 types build in a fraction of the time of cargo-fuzz's
# default of 1, at a small cost in executions per second.
flags=(-s none --codegen-units 16)
cargo fuzz build "${flags[@]}"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(cargo fuzz list)
fi
passed=0
failed=0
for t in "${targets[@]}"; do
    echo "-- fuzz $t: ${seconds} s"
    mkdir -p "corpus/$t" "artifacts/$t"
    if cargo fuzz run "${flags[@]}" "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        ${FUZZ_SEED:+-seed="$FUZZ_SEED"} \
        2> "artifacts/$t/log" ; then
        passed=$((passed + 1))
        grep -E "^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)" "artifacts/$t/log" | tr '\n' ' '
        echo
    else
        failed=$((failed + 1))
        tail -n 60 "artifacts/$t/log"
        echo "-- fuzz $t FAILED"
    fi
done
echo "fuzz: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
