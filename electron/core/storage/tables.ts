/**
 * The workspace tables as Kysely sees them (the schema of electron/core/workspace/schema.ts; the
 * PostgreSQL translation is postgres-schema.ts). Column types are what a row read through the
 * port holds on both engines: integers and BIGINTs as numbers, BLOB/BYTEA as bytes.
 */
import type { Generated } from 'kysely';

export interface MetaTable {
  key: string;
  value: string;
}

export interface AuditTable {
  seq: number;
  ts: string;
  actor_user: string;
  actor_kind: 'app' | 'cli';
  action: string;
  target: string;
  details: string;
  prev_hash: string;
  hash: string;
  actor_admin: string | null;
  actor_host: string | null;
}

export interface VaultSlotsTable {
  id: Generated<number>;
  kind: 'passphrase' | 'keychain';
  label: string;
  kdf_params: string | null;
  backend: string | null;
  wrapped_dek: Uint8Array;
  created_at: string;
}

export interface DeploymentsTable {
  name: string;
  source_file: string | null;
  source_yaml: string;
  imported_at: string;
  updated_at: string;
}

export interface ServicesTable {
  deployment: string;
  name: string;
  rtype: string | null;
  replicas: number | null;
  labels: string;
}

export interface SigningKeysTable {
  id: string;
  profile: 'zlayer' | 'ed25519' | 'es256';
  alg: string;
  kid: string | null;
  state: 'active' | 'verify-only' | 'retired';
  public_jwk: string | null;
  sealed_private: Uint8Array;
  compromised: Generated<number>;
  created_at: string;
  rotated_at: string | null;
  retired_at: string | null;
}

export interface TokensTable {
  id: Generated<number>;
  jti: string | null;
  subject: string;
  deployment: string;
  service: string;
  container: string;
  profile: string;
  key_id: string;
  kid: string | null;
  scopes: string;
  issued_at: number;
  expires_at: number;
  revoked_at: number | null;
  revoke_reason: string | null;
  replaced_by: string | null;
  token_sha256: string;
  forced_ttl: Generated<number>;
  issuer: string | null;
  audience: string | null;
  revoke_audit_seq: number | null;
}

export interface CaTable {
  id: number;
  cert_der: Uint8Array;
  sealed_key: Uint8Array;
  imported: Generated<number>;
  created_at: string;
}

export interface CertificatesTable {
  serial: string;
  node_id: string;
  subject: string;
  sans: string;
  fingerprint_sha256: string;
  not_before: string;
  not_after: string;
  cert_der: Uint8Array;
  issued_at: string;
  revoked_at: string | null;
  revocation_reason: string | null;
}

export interface CaCrlTable {
  id: number;
  crl_number: string;
  this_update: string;
  next_update: string;
  entries: number;
  crl_der: Uint8Array;
}

export interface StorageTables {
  meta: MetaTable;
  audit: AuditTable;
  vault_slots: VaultSlotsTable;
  deployments: DeploymentsTable;
  services: ServicesTable;
  signing_keys: SigningKeysTable;
  tokens: TokensTable;
  ca: CaTable;
  certificates: CertificatesTable;
  ca_crl: CaCrlTable;
}
