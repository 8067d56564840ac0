#!/usr/bin/env bash
# Installs what loopfetch needs to build and test, from Debian's packages. Idempotent.
# (zsh: tests/unit/test_completion.sh asks it for completions.)
set -euo pipefail
pkgs=(gcc clang libclang-rt-dev pkg-config meson ninja-build python3 openssl ca-certificates
      tmux time nginx-light libuv1-dev libcurl4-openssl-dev libgumbo-dev
      zlib1g-dev libbrotli-dev libzstd-dev libidn2-dev
      munge slurmctld slurmd slurm-client parallel python3-yaml zsh)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
