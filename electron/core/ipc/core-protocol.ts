/**
 * The messages between the core host (the Electron main thread: core-host.ts) and the core
 * worker (a `node:worker_threads` Worker: core-worker.ts). Plain structured-clone data only.
 *
 * Two lanes:
 *  - the worker's `parentPort`, asynchronous both ways: dispatch → result (with per-request
 *    `emit` events in between), change events, native dialogs (already async in `Dialogs`), logs,
 *    and the close handshake;
 *  - a dedicated MessagePort for the few SYNCHRONOUS services the core calls on the main thread's
 *    objects: the OS keychain (Electron's safeStorage: `KeychainBackend` is synchronous and the
 *    vault calls it inside its unlock and slot code) and the preferences store (electron-store:
 *    `SettingsStore` is synchronous). The worker posts the call, then sleeps in `Atomics.wait`
 *    on a shared flag; the main thread answers on its event loop (it is not blocked: only the
 *    worker waits), posts the answer and `Atomics.notify`s; the worker reads the answer with
 *    `receiveMessageOnPort`. These calls take microseconds on the main thread.
 */
import { CastellanError, ERROR_CODES, type ErrorCode } from '../../../shared/errors.ts';
import type { Envelope } from '../../../shared/ipc/envelope.ts';
import type { Settings } from '../../../shared/ipc/contract/settings.ts';
import type { ScryptCost } from '../workspace/vault.ts';
import type { Actor } from '../workspace/actor.ts';
import type { DatabaseChoice } from '../workspace/database-choice.ts';
import type { WorkspaceChange } from '../workspace/change-feed.ts';
import type { AppInfoSource } from './handlers/app.ts';
import type { SenderFrame } from './ipc-router.ts';
import type { MessagePort } from 'node:worker_threads';

/** What the worker is started with (`workerData`). */
export interface CoreWorkerData {
  workspacePath: string;
  allowedOrigins: string[];
  info: AppInfoSource;
  /** The audit identity; by default `currentActor('app')` in the worker. */
  actor?: Actor;
  /** Tests keep scrypt cheap (honoured only under `node --test`, as everywhere). */
  kdf?: ScryptCost;
  allowWeakKdfInTests?: boolean;
  hasKeychain: boolean;
  hasConfirm: boolean;
  /** The change watcher's interval (change-feed.ts; default 50 ms). */
  watchIntervalMs?: number;
  /**
   * The database to open (Settings → Database, issue 14), chosen by the main process at start:
   * CASTELLAN_DATABASE_URL, else the saved preference, else the embedded file. Absent: the embedded file.
   */
  database?: DatabaseChoice;
  /** The main process keeps a database preference (electron-store) the worker reads and writes. */
  hasDatabasePreference?: boolean;
  /** Int32Array over a SharedArrayBuffer: [0] is the "answer posted" flag of the synchronous lane. */
  syncFlag: SharedArrayBuffer;
  syncPort: MessagePort;
}

/** A synchronous call the worker makes on the main thread's objects. */
export type SyncCall =
  | { id: number; op: 'keychain.backend' }
  | { id: number; op: 'keychain.isEncryptionAvailable' }
  | { id: number; op: 'keychain.encryptString'; text: string }
  | { id: number; op: 'keychain.decryptString'; bytes: Uint8Array }
  | { id: number; op: 'settings.get' }
  | { id: number; op: 'settings.set'; patch: Partial<Settings> }
  | { id: number; op: 'database.get' }
  | { id: number; op: 'database.set'; url: string | null };

export type SyncAnswer = { id: number; ok: true; value: unknown } | { id: number; ok: false; error: WireError };

export type DialogMethod = 'openFiles' | 'saveFile' | 'confirm';

export type HostToWorker =
  | { type: 'dispatch'; id: number; channel: string; sender: SenderFrame | null; input: unknown }
  | { type: 'dialog-answer'; id: number; ok: true; value: unknown }
  | { type: 'dialog-answer'; id: number; ok: false; error: WireError }
  | { type: 'close' };

export type WorkerToHost =
  | { type: 'ready' }
  | { type: 'result'; id: number; envelope: Envelope<unknown> }
  | { type: 'emit'; id: number; name: string; payload: unknown }
  | { type: 'changes'; change: WorkspaceChange }
  | { type: 'dialog'; id: number; method: DialogMethod; options: unknown }
  | { type: 'log'; line: string }
  | { type: 'closed' };

/** An error crossing the thread boundary: a CastellanError keeps its code, anything else its class name. */
export interface WireError {
  name: string;
  message: string;
  code?: ErrorCode;
}

export function toWireError(err: unknown): WireError {
  if (err instanceof CastellanError) return { name: err.name, message: err.message, code: err.code };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: 'Error', message: String(err) };
}

export function fromWireError(wire: WireError): Error {
  if (wire.code !== undefined && (ERROR_CODES as readonly string[]).includes(wire.code)) {
    return new CastellanError(wire.code, wire.message);
  }
  const err = new Error(wire.message);
  err.name = wire.name;
  return err;
}

/** What a pending request gets when the worker dies under it. */
export const CORE_STOPPED_MESSAGE = 'the Castellan core stopped unexpectedly; restart the app';
