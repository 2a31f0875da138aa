#!/usr/bin/env bash
# Builds and tests the consumer project against the Leviathan artifacts in a Maven local repository, as a
# user's project would use them: by coordinates, on the module path. The library's build runs this after
# installing its artifacts (tests/pom.xml, install phase); it can also be run by hand after an install:
#
#   tests/consumer/run.sh [--repo DIR] [--offline] [--version V] [extra Maven args...]
#
# --repo is the local repository the artifacts were installed into (default: Maven's own, ~/.m2/repository);
# --offline keeps Maven off the network, so only artifacts already in that repository are used; --version is
# the library version to depend on (default: the one in pom.xml).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
args=(-B -f "$HERE/pom.xml")
while [ $# -gt 0 ]; do
  case "$1" in
    --repo) args+=("-Dmaven.repo.local=$2"); shift 2 ;;
    --offline) args+=(--offline); shift ;;
    --version) args+=("-Dleviathan.version=$2"); shift 2 ;;
    *) break ;;
  esac
done
if [ -z "${JAVA_HOME:-}" ]; then
  echo "consumer: JAVA_HOME is not set (a JDK 25 or newer is needed)" >&2
  exit 1
fi
# The consumer is outside the library's reactor: its own target folder, no parent POM, nothing shared.
echo "consumer: mvnw ${args[*]} $* verify" >&2
exec "$ROOT/mvnw" "${args[@]}" "$@" verify
