#!/usr/bin/env bash
# Installs every build and test dependency of qforge from Debian 12's apt archive (and npm for the
# llama.cpp / tokenizer oracles used by tests). Idempotent; run as root on a fresh machine.
set -euo pipefail

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config
  libhwy-dev libopenblas-dev nlohmann-json3-dev libcli11-dev libfmt-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev libpcre2-dev
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v node >/dev/null 2>&1; then missing+=(nodejs npm); fi

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all apt packages present"
fi
