#!/usr/bin/env bash
# What the test suite uses besides Node 20, JDK 17 and Maven: Debian's kcat
# and jq, for the language-neutral service of examples/shell (run by
# test/integration/protocol-kcat.test.ts). `npm test` runs this first; it
# installs them with apt-get when they are missing (as root, or with
# passwordless sudo), and otherwise warns and lets the suite run: that one
# test then fails, saying what is missing. Graphviz is not needed:
# the tests and `kafka-fusion dag render --format svg` use it compiled to
# WebAssembly (@viz-js/viz, an npm dependency).
set -u
missing=()
for tool in kcat jq; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "[provision] warning: the tests need ${missing[*]} and this machine has no apt-get: install them with its package manager" >&2
  exit 0
fi
SUDO=""
if [ "$(id -u)" != 0 ]; then
  if sudo -n true 2>/dev/null; then SUDO="sudo -n"; else
    echo "[provision] warning: the tests need ${missing[*]}: run 'sudo apt-get install ${missing[*]}' once (or npm test as root)" >&2
    exit 0
  fi
fi
echo "[provision] installing ${missing[*]} with apt-get (first run only)"
if ! $SUDO apt-get install -y -q "${missing[@]}" >/dev/null 2>&1; then
  $SUDO apt-get update -q >/dev/null 2>&1 && $SUDO apt-get install -y -q "${missing[@]}" >/dev/null 2>&1 || {
    echo "[provision] warning: could not install ${missing[*]} with apt-get; install them by hand" >&2
    exit 0
  }
fi
