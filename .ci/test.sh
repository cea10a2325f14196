#!/usr/bin/env bash
# Runs the workspace tests after setting up what they need, so that a fresh clone passes with
# this one command:
#
#   .ci/test.sh [CARGO TEST ARGS...]     e.g. .ci/test.sh -p mtproto --test vectors
#   .ci/test.sh --setup-only             set up, run no tests (.ci/run uses this)
#
# 1. Checks for the tools the tests run: cargo, python3 (3.11 or newer, with venv), node and
#    npm, tmux and a C compiler. If any is missing it names the Debian packages to install
#    and exits with status 1; it installs no system package itself.
# 2. Makes the Python venv .venv-test/ (git-ignored) with the pinned Telethon and kurigram,
#    the clients the end-to-end tests drive, unless it already holds them.
# 3. Installs GramJS from server-kit/tests/gramjs/package-lock.json (`npm ci`) when its
#    node_modules is missing or older than the lock file.
# 4. Puts the venv first on PATH and runs `cargo test --locked` with the arguments given.
#
# Each step is skipped when already done, so a second run goes straight to cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

venv="$root/.venv-test"
pins=(telethon==1.45.0 kurigram==2.2.26)
gramjs="$root/server-kit/tests/gramjs"

say() { echo ".ci/test.sh: $*" >&2; }

# 1. Tools. Collect everything missing, then report it once.
missing=()
packages=()
need() {
    missing+=("$1")
    [ -z "$2" ] || packages+=("$2")
}

command -v cargo >/dev/null || need "cargo (Rust 1.85 or newer)" ""
if ! command -v python3 >/dev/null; then
    need "python3 (3.11 or newer)" "python3 python3-venv"
elif ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    need "python3 3.11 or newer (found $(python3 -c 'import platform; print(platform.python_version())'); Debian 12 has 3.11)" \
        "python3 python3-venv"
elif ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
    need "the venv module of python3" "python3-venv"
fi
command -v node >/dev/null || need "node" "nodejs"
command -v npm >/dev/null || need "npm" "npm"
command -v tmux >/dev/null || need "tmux" "tmux"
command -v cc >/dev/null || need "a C compiler (cc)" "gcc"

if [ ${#missing[@]} -gt 0 ]; then
    say "missing:"
    printf '  - %s\n' "${missing[@]}" >&2
    if [ ${#packages[@]} -gt 0 ]; then
        sudo=""
        [ "$(id -u)" = 0 ] || sudo="sudo "
        say "install on Debian or Ubuntu with:"
        echo "  ${sudo}apt-get install -y ${packages[*]}" >&2
    fi
    if ! command -v cargo >/dev/null; then
        say "install Rust with rustup (https://rustup.rs); Debian's own cargo may be too old"
    fi
    exit 1
fi

# 2. The Python venv with the pinned clients. The stamp file records what was installed.
stamp="$venv/pinned.txt"
if ! "$venv/bin/python3" -c '' 2>/dev/null || [ "$(cat "$stamp" 2>/dev/null)" != "${pins[*]}" ]; then
    say "making $venv with ${pins[*]}"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/python3" -m pip install --quiet --disable-pip-version-check "${pins[@]}"
    echo "${pins[*]}" > "$stamp"
fi

# 3. GramJS. `npm ci` writes node_modules/.package-lock.json, which stands for the install.
installed="$gramjs/node_modules/.package-lock.json"
if [ ! -e "$installed" ] || [ "$gramjs/package-lock.json" -nt "$installed" ]; then
    say "installing GramJS (npm ci --prefix server-kit/tests/gramjs)"
    npm ci --silent --no-audit --no-fund --prefix "$gramjs"
fi

# 4. The tests, with the venv's python3 first on PATH.
export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"
unset PYTHONHOME
if [ "${1:-}" = "--setup-only" ]; then
    say "set up: $(python3 --version), node $(node --version), $(tmux -V)"
    exit 0
fi
exec cargo test --locked "$@"
