#!/usr/bin/env bash
# The integration suite and the three-node cluster tests on Kafka 4
# (KAFKA4_VERSION, default 4.1.1): a broker of that version on port 9292
# (KAFKA4_PORT) for the suite's shared broker, and the version every test that
# starts brokers of its own (restart, secured listener, cluster) starts. The
# broker started here is stopped at the end. Extra arguments go to jest.
#
#   npm run test:kafka4 [-- <jest arguments>]
set -uo pipefail
cd "$(dirname "$0")/.."
export KAFKA_VERSION="${KAFKA4_VERSION:-4.1.1}"
port="${KAFKA4_PORT:-9292}"
bash scripts/provision.sh || exit 1
started_here=0
if ! KAFKA_PORT="$port" npx tsx scripts/broker.ts status >/dev/null 2>&1; then started_here=1; fi
stop_broker() { if [ "$started_here" = 1 ]; then started_here=0; KAFKA_PORT="$port" npx tsx scripts/broker.ts down || true; fi; }
trap stop_broker EXIT
KAFKA_PORT="$port" npx tsx scripts/broker.ts up || exit 1
KAFKA_BROKERS="127.0.0.1:$port" npx jest --selectProjects integration cluster "$@"
