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
# 2. Makes the Python venv .venv-test/ (git-ignored) with the pinned Telethon, kurigram and
#    telethon-secret-chat, the clients the end-to-end tests drive, unless it already holds them; and a second venv
#    .venv-test-pyrotgfork/ with the pinned pyrotgfork, which installs the same `pyrogram`
#    module as kurigram and so cannot share the first (server-kit/tests/peers.rs runs it, with
#    every other client family at once; it also builds the grammers program of
#    server-kit/tests/grammers/ into target/grammers-peer/, fetching its crates the first time);
#    and .venv-ptb/ and .venv-aiogram/ with the pinned python-telegram-bot and aiogram, for
#    the Bot API frontend's framework tests.
# 3. Installs GramJS and mtcute from the committed lock files (`npm ci` in
#    server-kit/tests/gramjs and server-kit/tests/mtcute) and the web page's packages (GramJS,
#    esbuild, puppeteer-core in examples/web) when a node_modules is missing or older than
#    its lock file, and builds the web page into examples/web/dist (`--web` serves it; the
#    browser test, server-kit/tests/web.rs, builds its own copy and drives Debian's chromium).
# 4. Puts the first venv on PATH and runs `cargo test --locked` with the arguments given.
#
# Each step is skipped when already done, so a second run goes straight to cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

venv="$root/.venv-test"
# TgCrypto: the C AES the Pyrogram forks use when it is installed, as their users install it
# (without it they decrypt in pure Python, and a 1 MiB upload.getFile chunk can take longer
# than their 15 s request timeout on a busy 2-core machine).
# telethon-secret-chat: a third-party secret chat peer (server-kit/tests/telethon_secret.rs).
pins=(telethon==1.45.0 kurigram==2.2.26 tgcrypto==1.2.5 telethon-secret-chat==0.2.4)
pyro_venv="$root/.venv-test-pyrotgfork"
pyro_pins=(pyrotgfork==2.2.24.1 tgcrypto==1.2.5)
# python-telegram-bot, the Bot API framework the HTTP frontend's end-to-end test runs
# (server-kit/tests/botapi_ptb.rs), in a venv of its own: it pins its own httpx.
ptb_venv="$root/.venv-ptb"
ptb_pins=(python-telegram-bot==22.8)
# aiogram, the second framework of the same test, in a venv of its own (aiohttp, pydantic).
aiogram_venv="$root/.venv-aiogram"
aiogram_pins=(aiogram==3.31.0)
node_dirs=(server-kit/tests/gramjs server-kit/tests/mtcute examples/web)

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
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || need "Chromium (the web page's browser test)" "chromium"

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

# 2. The Python venvs with the pinned clients. A stamp file in each records what was installed.
make_venv() {
    local dir=$1
    shift
    if ! "$dir/bin/python3" -c '' 2>/dev/null || [ "$(cat "$dir/pinned.txt" 2>/dev/null)" != "$*" ]; then
        say "making $dir with $*"
        rm -rf "$dir"
        python3 -m venv "$dir"
        "$dir/bin/python3" -m pip install --quiet --disable-pip-version-check "$@"
        echo "$*" > "$dir/pinned.txt"
    fi
}
make_venv "$venv" "${pins[@]}"
make_venv "$pyro_venv" "${pyro_pins[@]}"
make_venv "$ptb_venv" "${ptb_pins[@]}"
make_venv "$aiogram_venv" "${aiogram_pins[@]}"

# 3. GramJS and mtcute. `npm ci` writes node_modules/.package-lock.json, which stands for the
# install.
for dir in "${node_dirs[@]}"; do
    installed="$root/$dir/node_modules/.package-lock.json"
    if [ ! -e "$installed" ] || [ "$root/$dir/package-lock.json" -nt "$installed" ]; then
        say "installing $(basename "$dir") (npm ci --prefix $dir)"
        npm ci --silent --no-audit --no-fund --prefix "$root/$dir"
    fi
done
# The web page, when its bundle is missing or older than a source.
web="$root/examples/web"
if [ ! -e "$web/dist/app.js" ] || [ -n "$(find "$web/src" "$web/static" "$web/build.mjs" "$web/package-lock.json" -newer "$web/dist/app.js" -print -quit)" ]; then
    say "building the web page: $(node "$web/build.mjs" "$web/dist")"
fi

# 4. The tests, with the first venv's python3 first on PATH and pyrotgfork's, PTB's and
# aiogram's named.
export VIRTUAL_ENV="$venv"
export PYROTGFORK_PYTHON="$pyro_venv/bin/python3"
export PTB_PYTHON="$ptb_venv/bin/python3"
export AIOGRAM_PYTHON="$aiogram_venv/bin/python3"
export PATH="$venv/bin:$PATH"
unset PYTHONHOME
if [ "${1:-}" = "--setup-only" ]; then
    say "set up: $(python3 --version), node $(node --version), $(tmux -V)"
    exit 0
fi
exec cargo test --locked "$@"
