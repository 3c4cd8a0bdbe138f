#!/usr/bin/env bash
# The PostgreSQL pass of the test suite (issue 14): the engine-neutral core tests again, with every
# workspace in a schema of its own on a throwaway cluster (test/harness/services.ts, CASTELLAN_STORAGE),
# plus the team-mode, migration and storage tests. Run inside scripts/pg-test-cluster.sh run (as
# npm test does under .ci/run); started alone, it starts (and removes) a cluster of its own.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${CASTELLAN_TEST_DATABASE_URL:-}" ]; then
  exec scripts/pg-test-cluster.sh run -- "$0" "$@"
fi
export CASTELLAN_STORAGE=postgres
files=(
  test/unit/storage-*.test.ts
  test/unit/team-mode.test.ts
  test/unit/engine-migrate.test.ts
  test/unit/database-handlers.test.ts
  test/unit/deployments.test.ts
  test/unit/minting.test.ts
  test/unit/token-list-engines.test.ts
  test/unit/audit-seal-engines.test.ts
  test/unit/revocation.test.ts
  test/unit/token-handlers.test.ts
  test/unit/audit-admin.test.ts
  test/unit/change-feed.test.ts
  test/unit/ca-handlers.test.ts
  test/unit/ca-key-cache.test.ts
  test/browser/changes.test.ts
  test/browser/settings-database.test.ts
)
echo "test:postgres: ${#files[@]} groups of test files on PostgreSQL ($(node -e 'const u=new URL(process.env.CASTELLAN_TEST_DATABASE_URL);console.log(u.searchParams.get("host")??u.host)'))"
exec node --import ./test/harness/temp-root.ts --test --test-concurrency=1 --test-reporter=spec --test-reporter-destination=stdout "${files[@]}"
