/**
 * Item 1: mint throughput with persistence (a ledger row and an audit entry per token, one
 * transaction per batch, through the product's `mintBatch`), against the raw limit: Node's crypto
 * over the SAME signing inputs in a tight loop (HMAC-SHA256 for zlayer, Ed25519 for ed25519).
 *
 * Each profile: one warm-up batch, then `runs` measured batches, each followed by a raw-crypto run
 * over that batch's own signing inputs (interleaved, so both see the same machine state). Medians.
 */
import { createHmac, createSecretKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mintBatch } from '../../electron/core/tokens/minting.ts';
import { Workspace } from '../../electron/core/workspace/workspace.ts';
import { ACTOR, PASSPHRASE, prepareWorkspace } from '../lib/fixtures.ts';
import { verdict, type Row } from '../lib/report.ts';
import { int, median, round } from '../lib/stats.ts';

export const MINT_TARGET_RATIO = 0.5;
const DEPLOYMENT = 'storefront';
const SERVICE = 'web';

export interface MintOptions {
  batch: number;
  runs: number;
  /** Extra rounds of the raw loop per batch: the loop over one batch is short, so repeat it. */
  rawRounds: number;
}

function rawLimit(profile: 'zlayer' | 'ed25519', inputs: Buffer[], rounds: number, key: KeyObject): number {
  const t0 = performance.now();
  let sink = 0;
  for (let r = 0; r < rounds; r++) {
    if (profile === 'zlayer') {
      for (const input of inputs) sink += createHmac('sha256', key).update(input).digest()[0]!;
    } else {
      for (const input of inputs) sink += sign(null, input, key)[0]!;
    }
  }
  const secs = (performance.now() - t0) / 1000;
  if (sink < 0) throw new Error('unreachable');
  return (inputs.length * rounds) / secs;
}

function mintOnce(ws: Workspace, profile: 'zlayer' | 'ed25519', batch: number, tag: string): { perSec: number; inputs: Buffer[] } {
  const containers = Array.from({ length: batch }, (_, i) => `${SERVICE}-${tag}-${i}`);
  const t0 = performance.now();
  const minted = mintBatch(ws, { deployment: DEPLOYMENT, service: SERVICE, containers, profile });
  const secs = (performance.now() - t0) / 1000;
  // The signing input is what the signature covers: `<header>.<payload>`.
  const inputs = minted.map((m) => Buffer.from(m.token.slice(0, m.token.lastIndexOf('.')), 'latin1'));
  return { perSec: minted.length / secs, inputs };
}

export async function benchMint(dir: string, opts: MintOptions, log: (line: string) => void): Promise<Row[]> {
  const prepared = await prepareWorkspace(dir);
  const { ws } = prepared;
  const rows: Row[] = [];
  try {
    // Keys for the raw loop, of the same kind and size as the workspace's (a 128-byte HMAC secret,
    // the hex text of the daemon's 64-byte key file; an Ed25519 private key).
    const keys = {
      zlayer: createSecretKey(Buffer.from(randomBytes(64).toString('hex'), 'latin1')),
      ed25519: generateKeyPairSync('ed25519').privateKey,
    };
    for (const profile of ['zlayer', 'ed25519'] as const) {
      mintOnce(ws, profile, opts.batch, `${profile}-warm`); // warm-up, excluded
      const mints: number[] = [];
      const raws: number[] = [];
      for (let r = 0; r < opts.runs; r++) {
        const m = mintOnce(ws, profile, opts.batch, `${profile}-${r}`);
        mints.push(m.perSec);
        rawLimit(profile, m.inputs.slice(0, 500), 1, keys[profile]); // warm the raw loop
        raws.push(rawLimit(profile, m.inputs, opts.rawRounds, keys[profile]));
        log(`  mint ${profile} run ${r + 1}/${opts.runs}: ${int(m.perSec)} tokens/s, raw ${int(raws[r]!)} /s`);
      }
      const mint = median(mints);
      const raw = median(raws);
      const ratio = mint / raw;
      const rawName = profile === 'zlayer' ? 'raw HMAC-SHA256' : 'raw Ed25519 sign';
      rows.push({
        item: `1 mint ${profile} (batch ${int(opts.batch)})`,
        value: round(mint, 0),
        unit: 'tokens/s',
        figure: `${int(mint)} tokens/s`,
        comparedWith: `${rawName} ${int(raw)} /s`,
        ratio,
        target: `≥ ${MINT_TARGET_RATIO.toFixed(2)}×`,
        verdict: verdict(ratio >= MINT_TARGET_RATIO),
        notes: `median of ${opts.runs} batches after 1 warm-up; ledger grows from 0 to ${int(opts.batch * (opts.runs + 1) * 2)} rows`,
        data: { mintPerSec: mints.map((v) => round(v, 0)), rawPerSec: raws.map((v) => round(v, 0)), batch: opts.batch },
      });
    }
  } finally {
    ws.close();
  }
  return rows;
}

/**
 * The same zlayer batches minted into the large ledger (items 2–4's), beside item 1's figure for a
 * small one: how minting scales with the ledger. Information, not a target.
 */
export function benchMintIntoLedger(
  dir: string,
  ledgerRows: number,
  opts: { batch: number; runs: number },
  small: Row | undefined,
  log: (line: string) => void,
): Row[] {
  const ws = Workspace.open(dir, { actor: ACTOR });
  try {
    ws.vault.unlockWithPassphrase(PASSPHRASE);
    mintOnce(ws, 'zlayer', Math.min(2_000, opts.batch), 'large-warm');
    const runs: number[] = [];
    for (let r = 0; r < opts.runs; r++) {
      runs.push(mintOnce(ws, 'zlayer', opts.batch, `large-${r}`).perSec);
      log(`  mint zlayer into the ${int(ledgerRows)}-row ledger, run ${r + 1}/${opts.runs}: ${int(runs[r]!)} tokens/s`);
    }
    const perSec = median(runs);
    return [
      {
        item: `1 mint zlayer into the ${int(ledgerRows)}-row ledger`,
        value: round(perSec, 0),
        unit: 'tokens/s',
        figure: `${int(perSec)} tokens/s`,
        comparedWith: small ? `into a small ledger (item 1): ${small.figure}` : '(item 1 not run)',
        ratio: small ? perSec / small.value : null,
        target: 'info',
        verdict: 'info',
        notes: `batches of ${int(opts.batch)}, median of ${opts.runs} after a warm-up batch`,
        data: { perSec: runs.map((v) => round(v, 0)) },
      },
    ];
  } finally {
    ws.close();
  }
}
