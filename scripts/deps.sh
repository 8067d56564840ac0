#!/usr/bin/env bash
# Installs what loopfetch needs to build and test, from Debian's packages. Idempotent.
# (zsh: tests/unit/test_completion.sh asks it for completions; aria2: bench/bench_split.py's peer.)
set -euo pipefail
pkgs=(gcc clang libclang-rt-dev pkg-config meson ninja-build python3 openssl ca-certificates
      tmux time nginx-light libuv1-dev libcurl4-openssl-dev libgumbo-dev
      zlib1g-dev libbrotli-dev libzstd-dev libidn2-dev libexpat1-dev
      munge slurmctld slurmd slurm-client parallel python3-yaml python3-h2 zsh
      libssl-dev libisal-dev wget python3-bs4 python3-html5lib python3-soupsieve python3-lxml
      tinyproxy dante-server aria2)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# WARC tests: npm's warcio runs on Node.js (Debian's, unless a node with npm is there already).
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# warcio.js (npm), which tests/e2e/e2e_warc.py runs on every WARC file the tests write; into
# .deps/ (git-ignored), pinned.
root="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -x "$root/.deps/node_modules/.bin/warcio" ]; then
  npm install --no-audit --no-fund --prefix "$root/.deps" warcio@2.4.11 >/dev/null
fi
