#!/usr/bin/env bash
# Installs what the demo and the tests need, when it is missing: Debian's
# python3 with uvloop, nest_asyncio, aiohttp, FastAPI and uvicorn; tmux,
# fish and zsh for the terminal and completion tests; iproute2 (ip) to bring
# loopback up in the network namespace of the offline test; libxml2-utils
# (xmllint) to check JUnit output against its schemas. Needs root (or sudo)
# only when something is missing.
set -euo pipefail

PY=/usr/bin/python3
PACKAGES=(python3 python3-uvloop python3-nest-asyncio python3-aiohttp python3-fastapi python3-uvicorn tmux iproute2 libxml2-utils fish zsh)

have_all() {
	[ -x "$PY" ] || return 1
	"$PY" -c 'import uvloop, nest_asyncio, aiohttp, fastapi, uvicorn' 2>/dev/null || return 1
	command -v tmux >/dev/null || return 1
	command -v ip >/dev/null || return 1
	command -v fish >/dev/null || return 1
	command -v zsh >/dev/null || return 1
	command -v xmllint >/dev/null || return 1
}

if have_all; then
	exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	SUDO=sudo
fi
echo "setup: installing ${PACKAGES[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >&2
$SUDO apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >&2
have_all || { echo "setup: $PY still lacks a module or a tool after install" >&2; exit 3; }
