/**
 * The workspace database schema, as an ordered list of migrations.
 * `PRAGMA user_version` records the last migration applied; each migration
 * runs in its own transaction, so a crash mid-upgrade leaves the previous
 * version intact. Never edit a released migration: append a new one.
 */

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const INITIAL_SCHEMA = `
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

-- Hash-chained, append-only log of every change an admin makes.
CREATE TABLE audit (
  seq        INTEGER PRIMARY KEY,
  ts         TEXT NOT NULL,            -- ISO-8601 UTC with milliseconds
  actor_user TEXT NOT NULL,
  actor_kind TEXT NOT NULL CHECK (actor_kind IN ('app', 'cli')),
  action     TEXT NOT NULL,
  target     TEXT NOT NULL,
  details    TEXT NOT NULL,            -- canonical JSON object
  prev_hash  TEXT NOT NULL,
  hash       TEXT NOT NULL
);
CREATE INDEX audit_action ON audit (action);
CREATE INDEX audit_ts ON audit (ts);
CREATE INDEX audit_target ON audit (target);
CREATE INDEX audit_actor_user ON audit (actor_user);
-- Stops accidental rewrites by our own code; a deliberate attacker can drop
-- these, which is what the hash chain is for.
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'audit entries are append-only'); END;

-- Each slot holds the workspace data-encryption key wrapped by one unlock method.
CREATE TABLE vault_slots (
  id          INTEGER PRIMARY KEY,
  kind        TEXT NOT NULL CHECK (kind IN ('passphrase', 'keychain')),
  label       TEXT NOT NULL,
  kdf_params  TEXT,                    -- JSON, passphrase slots only
  backend     TEXT,                    -- OS keychain backend, keychain slots only
  wrapped_dek BLOB NOT NULL,
  created_at  TEXT NOT NULL
);

CREATE TABLE deployments (
  name        TEXT PRIMARY KEY,
  source_file TEXT,
  source_yaml TEXT NOT NULL,
  imported_at TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

CREATE TABLE services (
  deployment TEXT NOT NULL REFERENCES deployments (name) ON DELETE CASCADE,
  name       TEXT NOT NULL,
  rtype      TEXT,
  replicas   INTEGER,
  labels     TEXT NOT NULL,            -- JSON object
  PRIMARY KEY (deployment, name)
);

CREATE TABLE signing_keys (
  id             TEXT PRIMARY KEY,
  profile        TEXT NOT NULL CHECK (profile IN ('zlayer', 'ed25519', 'es256')),
  alg            TEXT NOT NULL,
  kid            TEXT,
  state          TEXT NOT NULL CHECK (state IN ('active', 'verify-only', 'retired')),
  public_jwk     TEXT,
  sealed_private BLOB NOT NULL,
  compromised    INTEGER NOT NULL DEFAULT 0,
  created_at     TEXT NOT NULL,
  rotated_at     TEXT,
  retired_at     TEXT
);
CREATE UNIQUE INDEX signing_keys_one_active_per_profile ON signing_keys (profile) WHERE state = 'active';
CREATE INDEX signing_keys_kid ON signing_keys (kid);

-- Status is derived: revoked if revoked_at is set, expired if expires_at < now, else active.
-- Every column a table view can filter or sort on has an index (the list runs to 1,000,000 rows).
CREATE TABLE tokens (
  id            INTEGER PRIMARY KEY,
  jti           TEXT UNIQUE,           -- NULL for tokens minted without a record id
  subject       TEXT NOT NULL,
  deployment    TEXT NOT NULL,
  service       TEXT NOT NULL,
  container     TEXT NOT NULL,
  profile       TEXT NOT NULL,
  key_id        TEXT NOT NULL REFERENCES signing_keys (id),
  kid           TEXT,
  scopes        TEXT NOT NULL,
  issued_at     INTEGER NOT NULL,      -- unix seconds
  expires_at    INTEGER NOT NULL,      -- unix seconds
  revoked_at    INTEGER,               -- unix seconds
  revoke_reason TEXT,
  replaced_by   TEXT,
  token_sha256  TEXT NOT NULL UNIQUE,
  forced_ttl    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX tokens_deployment_service ON tokens (deployment, service, issued_at);
CREATE INDEX tokens_deployment_issued_at ON tokens (deployment, issued_at);
CREATE INDEX tokens_service ON tokens (service);
CREATE INDEX tokens_container ON tokens (container);
CREATE INDEX tokens_subject ON tokens (subject);
CREATE INDEX tokens_profile ON tokens (profile);
CREATE INDEX tokens_key_id ON tokens (key_id);
CREATE INDEX tokens_kid ON tokens (kid);
CREATE INDEX tokens_scopes ON tokens (scopes);
CREATE INDEX tokens_issued_at ON tokens (issued_at);
CREATE INDEX tokens_expires_at ON tokens (expires_at);
-- Serves sorting by revoked_at and, through its second column, the derived status filters
-- (active: revoked_at IS NULL AND expires_at >= now; expired: ... < now) in expiry order.
CREATE INDEX tokens_revoked_at_expires_at ON tokens (revoked_at, expires_at);
CREATE INDEX tokens_revoke_reason ON tokens (revoke_reason);
CREATE INDEX tokens_replaced_by ON tokens (replaced_by);
CREATE INDEX tokens_forced_ttl ON tokens (forced_ttl);

-- The worker certificate authority: at most one.
CREATE TABLE ca (
  id         INTEGER PRIMARY KEY CHECK (id = 1),
  cert_der   BLOB NOT NULL,
  sealed_key BLOB NOT NULL,
  imported   INTEGER NOT NULL DEFAULT 0,
  created_at TEXT NOT NULL
);

CREATE TABLE certificates (
  serial             TEXT PRIMARY KEY,  -- lowercase hex
  node_id            TEXT NOT NULL,
  subject            TEXT NOT NULL,
  sans               TEXT NOT NULL,     -- JSON array
  fingerprint_sha256 TEXT NOT NULL,
  not_before         TEXT NOT NULL,
  not_after          TEXT NOT NULL,
  cert_der           BLOB NOT NULL,
  issued_at          TEXT NOT NULL,
  revoked_at         TEXT,
  revocation_reason  TEXT
);
CREATE INDEX certificates_node_id ON certificates (node_id);
CREATE INDEX certificates_not_after ON certificates (not_after);
CREATE INDEX certificates_revoked_at ON certificates (revoked_at);
CREATE INDEX certificates_issued_at ON certificates (issued_at);
CREATE INDEX certificates_fingerprint ON certificates (fingerprint_sha256);
`;

// The token domain (signing-keys.ts, token-ledger.ts, revocation.ts):
// - issuer/audience: what an ed25519/es256 token was minted with, so its claims can be rebuilt
//   exactly after the workspace's configured values change (NULL for zlayer tokens);
// - revoke_audit_seq: the audit entry that revoked the token, so a bulk revoke can write one
//   summary entry and every token's history still shows it;
// - per-key status counts and the verifier revocation list as index range scans.
const TOKEN_LEDGER_V2 = `
ALTER TABLE tokens ADD COLUMN issuer TEXT;
ALTER TABLE tokens ADD COLUMN audience TEXT;
ALTER TABLE tokens ADD COLUMN revoke_audit_seq INTEGER;
-- Per-key status counts, bulk revoke by key and key retirement: ranges on one index.
CREATE INDEX IF NOT EXISTS tokens_key_status ON tokens (key_id, revoked_at, expires_at);
-- A key's tokens newest first (serves everything tokens_key_id did).
DROP INDEX IF EXISTS tokens_key_id;
CREATE INDEX IF NOT EXISTS tokens_key_issued_at ON tokens (key_id, issued_at);
-- The status filters in the default newest-first order: walk the unrevoked rows by issued_at,
-- checking expiry in the index, and stop at the page.
CREATE INDEX IF NOT EXISTS tokens_status_issued_at ON tokens (revoked_at, issued_at, expires_at);
-- The verifier revocation list: revoked tokens with a jti, by expiry.
CREATE INDEX IF NOT EXISTS tokens_revoked_unexpired ON tokens (expires_at, jti) WHERE revoked_at IS NOT NULL AND jti IS NOT NULL;
`;

// The worker CA (ca-store.ts, crl-publisher.ts): the latest signed CRL, kept so an export is
// a read rather than a signature (and works while the vault is locked). Its number is also
// meta.crl_number, the counter each new CRL increments.
const WORKER_CA_CRL_V3 = `
CREATE TABLE IF NOT EXISTS ca_crl (
  id          INTEGER PRIMARY KEY CHECK (id = 1),
  crl_number  TEXT NOT NULL,          -- decimal (CRL numbers run to 20 octets)
  this_update TEXT NOT NULL,          -- ISO-8601 UTC
  next_update TEXT NOT NULL,          -- ISO-8601 UTC
  entries     INTEGER NOT NULL,       -- revoked certificates listed
  crl_der     BLOB NOT NULL
);
-- Every new CRL reads all revoked certificates in one ordered scan: covering and partial, so
-- 100,000 revoked rows come straight from the index (~50 ms instead of ~400 ms via the table).
CREATE INDEX IF NOT EXISTS certificates_crl ON certificates (revoked_at, serial, revocation_reason) WHERE revoked_at IS NOT NULL;
`;

// Token ledger performance (token-ledger.ts, minting.ts). Measured on a 1,000,000-row ledger:
// - A filter on one column sorted by another made SQLite read and sort every matching row
//   (service=web by expires_at: 200-370 ms; profile=ed25519 newest first: 400-900 ms). Each index
//   below serves an equality filter AND the page order, so a page reads 200 index entries
//   (0.4-3 ms): the Tokens page's filters (deployment, service, profile, key) with its default
//   order (issued_at) and the expiry order (expires_at). Deployment+service newest first already
//   has tokens_deployment_service, a key newest first tokens_key_issued_at, a key's active or
//   expired tokens by expiry tokens_key_status, and the status filters tokens_status_issued_at /
//   tokens_revoked_at_expires_at. (No (key_id, expires_at): the per-key counts must keep using
//   tokens_key_status / tokens_key_issued_at, and a key's tokens of every status by expiry is a
//   rare view; it sorts the key's rows.)
// - tokens_service and tokens_profile are dropped: the new (service, ...) and (profile, ...)
//   indexes begin with the same column, so they serve every filter and sort the old ones did.
// Every index costs each minted token an insert (~1.5-2 µs each, measured); these are the pages
// worth it. The remaining single-column indexes are kept: each is the only index that sorts (or
// filters) by its column.
const TOKEN_LIST_INDEXES_V4 = `
CREATE INDEX IF NOT EXISTS tokens_service_issued_at ON tokens (service, issued_at);
CREATE INDEX IF NOT EXISTS tokens_service_expires_at ON tokens (service, expires_at);
CREATE INDEX IF NOT EXISTS tokens_deployment_expires_at ON tokens (deployment, expires_at);
-- A deployment's tokens by container (each replica's tokens together): without it, 30-80 ms.
CREATE INDEX IF NOT EXISTS tokens_deployment_container ON tokens (deployment, container);
CREATE INDEX IF NOT EXISTS tokens_profile_issued_at ON tokens (profile, issued_at);
CREATE INDEX IF NOT EXISTS tokens_profile_expires_at ON tokens (profile, expires_at);
DROP INDEX IF EXISTS tokens_service;
DROP INDEX IF EXISTS tokens_profile;
`;

// Failed passphrase unlocks and re-authentications (vault.ts): one row holding the count of
// consecutive failures and the time (epoch ms) before which the next attempt is refused. It
// lives in the workspace so restarting the app or running the CLI in a loop does not reset it.
const VAULT_UNLOCK_THROTTLE = `
CREATE TABLE IF NOT EXISTS vault_unlock_failures (
  id             INTEGER PRIMARY KEY CHECK (id = 1),
  failures       INTEGER NOT NULL CHECK (failures >= 0),
  retry_at       INTEGER NOT NULL,     -- epoch milliseconds
  last_failed_at TEXT NOT NULL         -- ISO-8601 UTC
);
`;

// Authenticated history and records (record-integrity.ts has the design):
// - audit.mac: HMAC of the entry's hash under a key derived from the vault's data key, written at
//   append when the vault is unlocked (NULL for an entry appended while it was locked);
// - audit_late_mac: the MACs of entries appended while the vault was locked, added by the next
//   unlock (or unlocked write) after their links were checked: the audit rows stay append-only;
// - record_macs: one MAC per authenticated record (a signing key, the key set, the token config,
//   the workspace settings, the CA, the CRL state, the revocation list number).
const AUDIT_INTEGRITY_V6 = `
ALTER TABLE audit ADD COLUMN mac TEXT;
CREATE TABLE IF NOT EXISTS audit_late_mac (
  seq INTEGER PRIMARY KEY,
  mac TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS record_macs (
  record TEXT PRIMARY KEY,
  mac    TEXT NOT NULL
);
`;

// What each token can do, for the Tokens page's capability and risk filters (token-ledger.ts):
// `caps` holds CAPABILITY_BITS (1 can write a secret, 2 writes every id of some kind, 4 had the
// host daemon socket), `risk` the index in TOKEN_RISKS (shared/policy/token-risk.ts, which
// minting.ts calls for each new token). Filtering by them parses no JSON: each capability and
// each risk threshold has a partial index in page order (issued_at) carrying the status columns,
// so "active tokens that can write a secret, newest first" walks only the matching entries. A
// partial index costs an insert only for the tokens it holds.
export const TOKEN_FACTS_BACKFILL = `
UPDATE tokens SET caps =
  (CASE WHEN EXISTS (SELECT 1 FROM json_each(tokens.scopes) j
                     WHERE json_extract(j.value, '$.resource_kind') = 'secret' AND json_extract(j.value, '$.level') = 'write')
        THEN 1 ELSE 0 END)
  | (CASE WHEN EXISTS (SELECT 1 FROM json_each(tokens.scopes) j
                       WHERE json_extract(j.value, '$.resource_id') IS NULL AND json_extract(j.value, '$.level') = 'write')
          THEN 2 ELSE 0 END)
  -- The daemon socket is a label of the service, not part of the token: a token minted before
  -- this migration is marked by its service's label as it stands now (the daemon's grammar:
  -- trimmed, ASCII case-insensitive 1/true/yes).
  | (CASE WHEN EXISTS (SELECT 1 FROM services s WHERE s.deployment = tokens.deployment AND s.name = tokens.service
                       AND lower(trim(json_extract(s.labels, '$."zlayer.io/daemon-socket"'),
                         char(9, 10, 11, 12, 13, 32, 133, 160, 5760, 8192, 8193, 8194, 8195, 8196, 8197, 8198, 8199,
                              8200, 8201, 8202, 8232, 8233, 8239, 8287, 12288))) IN ('1', 'true', 'yes'))
          THEN 4 ELSE 0 END);
UPDATE tokens SET risk = CASE
  WHEN caps & 4 THEN 3
  WHEN caps & 3
    OR EXISTS (SELECT 1 FROM json_each(tokens.scopes) j
               WHERE json_extract(j.value, '$.resource_kind') = 'secret' AND json_extract(j.value, '$.resource_id') IS NULL
                 AND json_extract(j.value, '$.level') IN ('read', 'execute', 'write'))
    OR EXISTS (SELECT 1 FROM json_each(tokens.scopes) j
               WHERE json_extract(j.value, '$.resource_kind') = 'deployment' AND json_extract(j.value, '$.level') = 'write'
                 AND (json_extract(j.value, '$.resource_id') IS NULL OR json_extract(j.value, '$.resource_id') != tokens.deployment))
    THEN 2
  WHEN EXISTS (SELECT 1 FROM json_each(tokens.scopes) j
               WHERE json_extract(j.value, '$.resource_kind') = 'secret' AND json_extract(j.value, '$.level') IN ('read', 'execute', 'write'))
    OR expires_at - issued_at >= 604800
    THEN 1
  ELSE 0 END;
`;

const TOKEN_FACTS_V7 = `
ALTER TABLE tokens ADD COLUMN caps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN risk INTEGER NOT NULL DEFAULT 0;
${TOKEN_FACTS_BACKFILL}
CREATE INDEX IF NOT EXISTS tokens_cap_secret_write ON tokens (issued_at, id, revoked_at, expires_at) WHERE caps & 1;
CREATE INDEX IF NOT EXISTS tokens_cap_wildcard_write ON tokens (issued_at, id, revoked_at, expires_at) WHERE caps & 2;
CREATE INDEX IF NOT EXISTS tokens_cap_daemon_socket ON tokens (issued_at, id, revoked_at, expires_at) WHERE caps & 4;
CREATE INDEX IF NOT EXISTS tokens_risk_medium ON tokens (issued_at, id, revoked_at, expires_at) WHERE risk >= 1;
CREATE INDEX IF NOT EXISTS tokens_risk_high ON tokens (issued_at, id, revoked_at, expires_at) WHERE risk >= 2;
CREATE INDEX IF NOT EXISTS tokens_risk_critical ON tokens (issued_at, id, revoked_at, expires_at) WHERE risk >= 3;
`;

// `castellan serve` (electron/core/serve/): the verifier clients that may call /introspect (only
// a SHA-256 of each secret is kept), how often and when each token was last introspected (never
// the token), each token's replica create attempt (attempt binding), and a partial index so the server can tell in O(log n) whether any token was revoked
// since it last signed the revocation list (max(revoke_audit_seq) over revoked rows only; minting
// inserts NULL there, so it costs a mint nothing).
const SERVE_V8 = `
CREATE TABLE IF NOT EXISTS serve_clients (
  id            TEXT PRIMARY KEY,         -- client_id, public
  name          TEXT NOT NULL,
  secret_sha256 TEXT NOT NULL,            -- hex SHA-256 of the 32-byte random secret
  created_at    TEXT NOT NULL,
  revoked_at    TEXT
);
CREATE TABLE IF NOT EXISTS token_introspections (
  token_id INTEGER PRIMARY KEY REFERENCES tokens (id) ON DELETE CASCADE,
  count    INTEGER NOT NULL,
  last_at  INTEGER NOT NULL               -- unix seconds
);
CREATE INDEX IF NOT EXISTS tokens_revoke_audit_seq ON tokens (revoke_audit_seq) WHERE revoke_audit_seq IS NOT NULL;
-- Attempt binding (garm): the replica create attempt a token was minted for, NULL when unbound.
-- A zlayer token keeps it here only (its claims are pinned by COMPAT.md); ed25519/es256 tokens
-- also carry it as the create_attempt claim. Superseding reads a container's rows through
-- tokens_deployment_container.
ALTER TABLE tokens ADD COLUMN create_attempt INTEGER;
`;

/**
 * Team mode names who acted (issue 14): the vault slot that unlocked the workspace (one slot per
 * admin, labelled with their name) and the machine. Both are hashed into the entry when present;
 * entries written before this version have neither and hash as they always did.
 */
const AUDIT_ADMIN_HOST_V9 = `
ALTER TABLE audit ADD COLUMN actor_admin TEXT;
ALTER TABLE audit ADD COLUMN actor_host TEXT;
CREATE INDEX audit_actor_admin ON audit (actor_admin) WHERE actor_admin IS NOT NULL;
`;

export const MIGRATIONS: Migration[] = [
  { version: 1, name: 'initial schema', sql: INITIAL_SCHEMA },
  { version: 2, name: 'token ledger: minted issuer/audience, revocation audit link, status indexes', sql: TOKEN_LEDGER_V2 },
  { version: 3, name: 'worker CA: the latest signed CRL', sql: WORKER_CA_CRL_V3 },
  { version: 4, name: 'token ledger: (filter, order) indexes for the list pages', sql: TOKEN_LIST_INDEXES_V4 },
  { version: 5, name: 'vault: persisted throttle for failed passphrase attempts', sql: VAULT_UNLOCK_THROTTLE },
  { version: 6, name: 'authenticated audit log and records', sql: AUDIT_INTEGRITY_V6 },
  { version: 7, name: 'token ledger: capability bits and risk per token, with their filter indexes', sql: TOKEN_FACTS_V7 },
  { version: 8, name: 'serve: verifier clients, introspection counts, create attempts, revocation change index', sql: SERVE_V8 },
  { version: 9, name: 'audit: the admin (vault slot) and machine of each entry', sql: AUDIT_ADMIN_HOST_V9 },
];

/** The newest schema this build can read and write. */
export const LATEST_SCHEMA_VERSION: number = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/** Every table migration 1 creates; tests and diagnostics check against it. */
export const TABLES = [
  'meta',
  'audit',
  'vault_slots',
  'deployments',
  'services',
  'signing_keys',
  'tokens',
  'ca',
  'certificates',
] as const;
