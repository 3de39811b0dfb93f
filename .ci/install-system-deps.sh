#!/usr/bin/env bash
# System packages the team-server and Spark tests need (Debian/Ubuntu). Idempotent: installs
# only what is missing, so a second run changes nothing and needs no network.
#   postgresql            - initdb/pg_ctl for the throw-away cluster tests/team/ starts itself
#                           (no service is started here: the test fixtures start and stop it)
#   default-jre-headless  - Java for pyspark, only when no `java` is on PATH
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

missing=()
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    missing+=(postgresql)
fi
if ! command -v java >/dev/null 2>&1; then
    missing+=(default-jre-headless)
fi

if [ "${#missing[@]}" -eq 0 ]; then
    echo "install-system-deps: postgresql and java already present"
    exit 0
fi

echo "install-system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
