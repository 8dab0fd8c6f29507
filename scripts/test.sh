#!/usr/bin/env bash
# `npm test`: type-check, then the whole vitest suite. The suite needs a real etcd server, promtool, iproute2 and iptables;
# on a machine without them (and with apt-get and root) they are installed first, as the README says.
set -euo pipefail
need=()
command -v etcd >/dev/null 2>&1 || need+=(etcd-server)
command -v promtool >/dev/null 2>&1 || need+=(prometheus)
# The agent's tests build network namespaces with iproute2 and install rules with iptables-restore.
command -v ip >/dev/null 2>&1 || need+=(iproute2)
command -v iptables-restore >/dev/null 2>&1 || need+=(iptables)
command -v ping >/dev/null 2>&1 || need+=(iputils-ping)
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing ${need[*]} (needed by the test suite)" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
  else
    echo "the test suite needs: ${need[*]} — install with: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi
tsc --noEmit -p .
# Formatting and lint (Biome, biome.json): one tool for both, fast enough to run on every test.
biome check .
exec vitest run "$@"
