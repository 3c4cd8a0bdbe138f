/**
 * Team mode's database roles (docs/postgres.md, "Roles and grants"). Two roles:
 * - the OWNER owns the schema and its tables and runs the migrations (`castellan db migrate`,
 *   or the first console to open an empty database when the admin connects as the owner);
 * - the APP role is what every console, CLI and `castellan serve` replica connects as. It holds
 *   only the privileges the core uses: on `audit` only INSERT and SELECT, so no app session can
 *   rewrite history, and as a non-owner it cannot drop or disable the append-only trigger either.
 *   Tokens and signing keys are never deleted (they are revoked or retired), so no DELETE there.
 *
 * `teamGrantsSql` is the script an operator runs as the owner after each migration (new tables
 * get no privileges until it is run again; it is idempotent).
 */

/** Table → privileges the app role gets. Every table of the schema must be listed. */
export const APP_ROLE_PRIVILEGES: Readonly<Record<string, readonly string[]>> = {
  meta: ['SELECT', 'INSERT', 'UPDATE'],
  audit: ['SELECT', 'INSERT'],
  vault_slots: ['SELECT', 'INSERT', 'DELETE'],
  deployments: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  services: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  signing_keys: ['SELECT', 'INSERT', 'UPDATE'],
  tokens: ['SELECT', 'INSERT', 'UPDATE'],
  ca: ['SELECT', 'INSERT', 'UPDATE'],
  certificates: ['SELECT', 'INSERT', 'UPDATE'],
  ca_crl: ['SELECT', 'INSERT', 'UPDATE'],
  // Failed-unlock throttle: one row, reset on success.
  vault_unlock_failures: ['SELECT', 'INSERT', 'UPDATE', 'DELETE'],
  // Late MACs of audit entries are appended like the entries themselves; record MACs move with their records.
  audit_late_mac: ['SELECT', 'INSERT'],
  record_macs: ['SELECT', 'INSERT', 'UPDATE'],
  serve_clients: ['SELECT', 'INSERT', 'UPDATE'],
  token_introspections: ['SELECT', 'INSERT', 'UPDATE'],
  castellan_migrations: ['SELECT'],
};

function ident(name: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a plain PostgreSQL identifier: ${name}`);
  return name;
}

/** The grants for `appRole` on the Castellan tables in `schema` (run as the owner). */
export function teamGrantsSql(schema: string, appRole: string): string {
  const s = ident(schema);
  const r = ident(appRole);
  const lines = [
    `REVOKE ALL ON ALL TABLES IN SCHEMA ${s} FROM ${r};`,
    `GRANT USAGE ON SCHEMA ${s} TO ${r};`,
    ...Object.entries(APP_ROLE_PRIVILEGES).map(
      ([table, privileges]) => `GRANT ${privileges.join(', ')} ON ${s}.${ident(table)} TO ${r};`,
    ),
  ];
  return lines.join('\n');
}
