# Shared by scripts/bench and scripts/test: install what is missing, set up the Python venv, build.
# Sourced, not run. Every function exits non-zero with one clear line on failure.

PB_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PB_APT_PACKAGES=(cmake ninja-build g++ pkg-config git libbenchmark-dev libgtest-dev libeigen3-dev
                 nlohmann-json3-dev libopenblas-dev libdnnl-dev python3 python3-venv)

# scripts/test also screenshots the HTML report in a headless browser.
PB_APT_TEST_PACKAGES=(chromium)

pb_say() { printf '[prunebench] %s\n' "$*" >&2; }
pb_die() { printf '%s: error: %s\n' "$(basename "$0")" "$*" >&2; exit 1; }
# A bad flag, profile or config: one line and exit 2, as prunebench and the Python scripts do.
pb_usage() { printf '%s: error: %s\n' "$(basename "$0")" "$*" >&2; exit 2; }

# Debian packages: install the missing ones when root, otherwise print the exact command and stop.
# usage: pb_ensure_deps [extra packages...]
pb_ensure_deps() {
  command -v dpkg-query >/dev/null || { pb_say "not a Debian system: install ${PB_APT_PACKAGES[*]} yourself"; return 0; }
  local missing=() p
  for p in "${PB_APT_PACKAGES[@]}" "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    pb_die "missing Debian packages; run: sudo apt-get install -y ${missing[*]}"
  fi
  pb_say "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null || pb_die "apt-get update failed"
  apt-get install -y -qq "${missing[@]}" >/dev/null || pb_die "apt-get install ${missing[*]} failed"
}

# Python packages pinned in scripts/requirements.txt, in .venv; reinstalled only when the pins change.
pb_ensure_venv() {
  local venv="$PB_ROOT/.venv" req="$PB_ROOT/scripts/requirements.txt" stamp
  stamp="$venv/.requirements.sha256"
  if [ ! -x "$venv/bin/python" ]; then
    pb_say "creating $venv"
    python3 -m venv "$venv" || /usr/bin/python3 -m venv "$venv" || pb_die "cannot create a Python venv (install python3-venv)"
  fi
  if [ ! -f "$stamp" ] || ! sha256sum --status -c "$stamp" 2>/dev/null; then
    pb_say "installing Python packages from scripts/requirements.txt"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -r "$req" || pb_die "pip install failed"
    sha256sum "$req" > "$stamp"
  fi
  PB_PY="$venv/bin/python"
}

# Configure (once) and build one CMake preset.
pb_build() {
  local preset=$1 dir
  case $preset in release) dir="$PB_ROOT/build" ;; *) dir="$PB_ROOT/build/$preset" ;; esac
  if [ ! -f "$dir/build.ninja" ]; then
    pb_say "configuring ($preset)"
    cmake --preset "$preset" -S "$PB_ROOT" >"$PB_ROOT/build-$preset.log" 2>&1 \
      || { cat "$PB_ROOT/build-$preset.log" >&2; pb_die "cmake configure failed (log: build-$preset.log)"; }
    rm -f "$PB_ROOT/build-$preset.log"
  fi
  pb_say "building ($preset)"
  cmake --build "$dir" -j "$(nproc)" || pb_die "build failed"
  PB_BIN="$dir/bin"
}
