#!/usr/bin/env bash
# Clean `cargo build --release` of the whole generated layer-229 API: ours (tl-codegen from
# build.rs, default options) against grammers-tl-types (default features), one after the other
# on this machine. Prints the wall time of each clean build, its CPU time (user + system, less
# sensitive than wall time to other load on the machine), the peak RSS of its largest process
# (rustc on the generated crate), and cargo's own figures for the generated crate and its build
# script.
#
# Usage: bash tl-codegen/bench/build-time.sh; ROUNDS=3 alternates the two builds three times
# (fairer when other load on the machine comes and goes).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
telegram="$root/tl-schema/schemas/telegram"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir -p "$work/ours/src" "$work/grammers/src"
cat > "$work/ours/Cargo.toml" <<TOML
[package]
name = "layer229-ours"
version = "0.0.0"
edition = "2024"
[dependencies]
tl-runtime = { path = "$root/tl-codegen/runtime" }
[build-dependencies]
tl-codegen = { path = "$root/tl-codegen", default-features = false }
[workspace]
TOML
cat > "$work/ours/build.rs" <<RS
fn main() {
    tl_codegen::Config::new().schema("$telegram/api-layer229.tl").generate().unwrap();
}
RS
echo 'include!(concat!(env!("OUT_DIR"), "/tl.rs"));' > "$work/ours/src/lib.rs"
cp "$root/Cargo.lock" "$work/ours/Cargo.lock"

cat > "$work/grammers/Cargo.toml" <<TOML
[package]
name = "layer-grammers"
version = "0.0.0"
edition = "2024"
[dependencies]
grammers-tl-types = "0.11"
[workspace]
TOML
: > "$work/grammers/src/lib.rs"
cp "$root/Cargo.lock" "$work/grammers/Cargo.lock"

# Fetch first so that downloads are not timed.
(cd "$work/ours" && cargo fetch -q)
(cd "$work/grammers" && cargo fetch -q)

measure() {
    local dir=$1 crate=$2 label=$3
    rm -rf "$dir/target"
    (cd "$dir" && /usr/bin/time -f "%e %U %S %M" -o "$work/time" \
        cargo build --release --offline -q --timings 2>/dev/null)
    python3 - "$dir/target/cargo-timings/cargo-timing.html" "$crate" "$label" $(cat "$work/time") <<'PY'
import json, re, sys
path, crate, label, wall, user, system, rss_kb = sys.argv[1:]
units = json.loads(re.search(r"const UNIT_DATA = (\[.*?\]);", open(path).read(), re.S).group(1))
lib = sum(u["duration"] for u in units if u["name"] == crate and u.get("target", "").strip() == "")
script = sum(u["duration"] for u in units if u["name"] == crate and "run" in u.get("target", ""))
cpu = float(user) + float(system)
print(f"{label:<34} clean build {float(wall):6.1f} s (CPU {cpu:6.1f} s, peak RSS {int(rss_kb) // 1024:5} MB)   generated crate {lib:6.1f} s   its build script run {script:5.1f} s")
PY
}

echo "clean cargo build --release, $(nproc) cores, rustc $(rustc --version | cut -d' ' -f2)"
for _ in $(seq "${ROUNDS:-1}"); do
    measure "$work/ours" layer229-ours "ours (tl-codegen, layer 229)"
    measure "$work/grammers" grammers-tl-types "grammers-tl-types 0.11 (layer 230)"
done
