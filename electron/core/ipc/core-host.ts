/**
 * The main thread's side of the core worker (issue 14: the Electron main process never blocks on
 * storage). `startCoreHost` starts core-worker.ts in a `node:worker_threads` Worker and returns a
 * `Router`: `dispatch` posts the request to the worker and resolves with the worker's envelope,
 * relaying the request's progress events; `onChanges` relays the change watcher that runs in the
 * worker. The main thread keeps only what Electron gives it — native dialogs, safeStorage,
 * electron-store, the app's facts — and answers the worker's calls on them (core-protocol.ts).
 *
 * Electron-free: the shell (electron/main/index.ts) and the tests both use it, the shell with the
 * built worker (out/main/core-worker.js), the tests with the TypeScript source.
 *
 * A worker that dies (a crash, an out-of-memory abort) does not leave the window waiting: every
 * request in flight gets an INTERNAL envelope saying so, and a new worker is started at once (its
 * vault locked: the key lived in the old thread), unless the core died three times within a
 * minute — then every request says to restart the app.
 */
import { MessageChannel, Worker, type MessagePort } from 'node:worker_threads';
import { CHANGE_DOMAINS, isChannel, type EventName } from '../../../shared/ipc/channels.ts';
import type { EventPayload } from '../../../shared/ipc/contract.ts';
import { fail, type Envelope } from '../../../shared/ipc/envelope.ts';
import type { WorkspaceChange } from '../workspace/change-feed.ts';
import type { SettingsStore } from '../workspace/settings.ts';
import type { KeychainBackend, ScryptCost } from '../workspace/vault.ts';
import type { Actor } from '../workspace/actor.ts';
import type { DatabaseChoice, DatabasePreference } from '../workspace/database-choice.ts';
import {
  CORE_STOPPED_MESSAGE,
  toWireError,
  type CoreWorkerData,
  type HostToWorker,
  type SyncAnswer,
  type SyncCall,
  type WorkerToHost,
} from './core-protocol.ts';
import type { Dialogs } from './dialogs.ts';
import type { AppInfoSource } from './handlers/app.ts';
import { errorLine, type HandlerContext, type Router, type SenderFrame } from './ipc-router.ts';

export { CORE_STOPPED_MESSAGE };

export const CORE_DOWN_MESSAGE = 'the Castellan core stopped repeatedly; restart the app';
export const CORE_CLOSED_MESSAGE = 'the Castellan core is closed';
/** Crashes within this window that make the host give up restarting. */
const CRASH_LIMIT = 3;
const CRASH_WINDOW_MS = 60_000;
/** How long close() waits for the worker to stop publishing and close the workspace. */
const CLOSE_GRACE_MS = 10_000;

export interface CoreHostOptions {
  /** The worker's entry: out/main/core-worker.js in the app, electron/core/ipc/core-worker.ts in tests. */
  worker: string | URL;
  workspacePath: string;
  allowedOrigins: readonly string[];
  /** The app's name, version and paths: plain data, sent to the worker at start. */
  info: AppInfoSource;
  dialogs: Dialogs;
  keychain?: KeychainBackend;
  settings: SettingsStore;
  /** The audit identity; by default the OS user through the app (`currentActor('app')`, in the worker). */
  actor?: Actor;
  /** Tests keep scrypt cheap (honoured only under `node --test`). */
  kdf?: ScryptCost;
  allowWeakKdfInTests?: boolean;
  watchIntervalMs?: number;
  /** Where the core's own log lines go (the router's unexpected-failure lines). Default: stderr. */
  log?: (line: string) => void;
  /** The database this start opens (chooseDatabase in database-choice.ts); default the embedded file. */
  database?: DatabaseChoice;
  /** Where Settings → Database saves the admin's choice (electron-store in the app). */
  databasePreference?: DatabasePreference;
}

export interface CoreHost extends Router {
  /** Calls `listener` with every change the worker's watcher sees; returns the unsubscribe function. */
  onChanges(listener: (change: WorkspaceChange) => void): () => void;
  /** Stops publishing, closes the workspace and ends the worker. Safe to call twice. */
  close(): Promise<void>;
  /** The worker running now (null once closed or given up); for diagnostics and tests. */
  currentWorker(): Worker | null;
  /** How many times a crashed worker was replaced. */
  readonly restarts: number;
}

interface Pending {
  resolve: (envelope: Envelope<unknown>) => void;
  emit: HandlerContext['emit'] | undefined;
}

interface Instance {
  worker: Worker;
  syncPort: MessagePort;
  pending: Map<number, Pending>;
  /** Set when the host itself ends the worker: its exit is then not a crash. */
  stopping: boolean;
  /** Resolves when the worker said it closed the workspace, or exited. */
  closed: Promise<void>;
}

export function startCoreHost(options: CoreHostOptions): CoreHost {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const changeListeners = new Set<(change: WorkspaceChange) => void>();
  const crashes: number[] = [];
  let current: Instance | null = null;
  let down = false;
  let closing: Promise<void> | null = null;
  let nextId = 1;
  let restarts = 0;

  const notifyChanges = (change: WorkspaceChange): void => {
    for (const listener of changeListeners) {
      try {
        listener(change);
      } catch (err) {
        log(`castellan: a change listener failed with ${errorLine(err)}`);
      }
    }
  };

  /** The synchronous lane's main-thread half: keychain and settings calls, answered at once. */
  function answerSync(call: SyncCall): unknown {
    const keychain = options.keychain;
    switch (call.op) {
      case 'settings.get':
        return options.settings.get();
      case 'settings.set':
        return options.settings.set(call.patch);
      case 'database.get':
        if (options.databasePreference === undefined) throw new Error('no database preference in this process');
        return options.databasePreference.get();
      case 'database.set':
        if (options.databasePreference === undefined) throw new Error('no database preference in this process');
        options.databasePreference.set(call.url);
        return null;
      default:
        if (keychain === undefined) throw new Error('no keychain in this process');
        switch (call.op) {
          case 'keychain.backend':
            return keychain.backend();
          case 'keychain.isEncryptionAvailable':
            return keychain.isEncryptionAvailable();
          // A fresh copy: a pooled Buffer's whole backing store would otherwise be cloned across.
          case 'keychain.encryptString':
            return new Uint8Array(keychain.encryptString(call.text));
          case 'keychain.decryptString':
            return keychain.decryptString(Buffer.from(call.bytes));
        }
    }
  }

  async function answerDialog(instance: Instance, message: Extract<WorkerToHost, { type: 'dialog' }>): Promise<void> {
    let answer: HostToWorker;
    try {
      const dialogs = options.dialogs;
      let value: unknown;
      if (message.method === 'openFiles') value = await dialogs.openFiles(message.options as Parameters<Dialogs['openFiles']>[0]);
      else if (message.method === 'saveFile') value = await dialogs.saveFile(message.options as Parameters<Dialogs['saveFile']>[0]);
      else if (dialogs.confirm) value = await dialogs.confirm(message.options as Parameters<NonNullable<Dialogs['confirm']>>[0]);
      else throw new Error('native confirmation is not available');
      answer = { type: 'dialog-answer', id: message.id, ok: true, value };
    } catch (err) {
      answer = { type: 'dialog-answer', id: message.id, ok: false, error: toWireError(err) };
    }
    // A worker that died while the dialog was open gets no answer; its successor never asked.
    if (current === instance) instance.worker.postMessage(answer);
  }

  function start(): Instance {
    const syncFlag = new SharedArrayBuffer(4);
    const flag = new Int32Array(syncFlag);
    const { port1: hostPort, port2: workerPort } = new MessageChannel();
    const data: CoreWorkerData = {
      workspacePath: options.workspacePath,
      allowedOrigins: [...options.allowedOrigins],
      info: options.info,
      ...(options.actor ? { actor: options.actor } : {}),
      ...(options.kdf ? { kdf: options.kdf } : {}),
      ...(options.allowWeakKdfInTests ? { allowWeakKdfInTests: true } : {}),
      ...(options.watchIntervalMs === undefined ? {} : { watchIntervalMs: options.watchIntervalMs }),
      ...(options.database ? { database: { ...options.database } } : {}),
      ...(options.databasePreference ? { hasDatabasePreference: true } : {}),
      hasKeychain: options.keychain !== undefined,
      hasConfirm: options.dialogs.confirm !== undefined,
      syncFlag,
      syncPort: workerPort,
    };
    const worker = new Worker(options.worker, { workerData: data, transferList: [workerPort] });
    let markClosed: () => void = () => undefined;
    const instance: Instance = {
      worker,
      syncPort: hostPort,
      pending: new Map(),
      stopping: false,
      closed: new Promise<void>((resolve) => (markClosed = resolve)),
    };

    hostPort.on('message', (call: SyncCall) => {
      let answer: SyncAnswer;
      try {
        answer = { id: call.id, ok: true, value: answerSync(call) };
      } catch (err) {
        answer = { id: call.id, ok: false, error: toWireError(err) };
      }
      hostPort.postMessage(answer);
      Atomics.store(flag, 0, 1);
      Atomics.notify(flag, 0);
    });

    worker.on('message', (message: WorkerToHost) => {
      switch (message.type) {
        case 'result': {
          const pending = instance.pending.get(message.id);
          instance.pending.delete(message.id);
          pending?.resolve(message.envelope);
          return;
        }
        case 'emit': {
          const emit = instance.pending.get(message.id)?.emit;
          emit?.(message.name as EventName, message.payload as EventPayload<EventName>);
          return;
        }
        case 'changes':
          notifyChanges(message.change);
          return;
        case 'dialog':
          void answerDialog(instance, message);
          return;
        case 'log':
          log(message.line);
          return;
        case 'closed':
          markClosed();
          return;
        case 'ready':
          return;
      }
    });
    worker.on('error', (err) => {
      log(`castellan: the core worker failed with ${errorLine(err)}`);
    });
    worker.on('exit', (code) => {
      markClosed();
      hostPort.close();
      const wasCurrent = current === instance;
      if (wasCurrent) current = null;
      const message = instance.stopping ? CORE_CLOSED_MESSAGE : CORE_STOPPED_MESSAGE;
      for (const pending of instance.pending.values()) pending.resolve(fail('INTERNAL', message));
      instance.pending.clear();
      if (instance.stopping || !wasCurrent || closing !== null) return;

      const now = Date.now();
      crashes.push(now);
      while (crashes.length > 0 && now - crashes[0]! > CRASH_WINDOW_MS) crashes.shift();
      if (crashes.length >= CRASH_LIMIT) {
        down = true;
        log(`castellan: the core worker stopped (exit code ${code}) ${crashes.length} times within a minute; not restarting it`);
        return;
      }
      log(`castellan: the core worker stopped (exit code ${code}); started a new one (the vault is locked again)`);
      restarts += 1;
      current = start();
      // The new core knows nothing the old one did (an unlocked vault above all): every page reloads.
      notifyChanges({ cursor: 0, after: 0, domains: [...CHANGE_DOMAINS] });
    });
    return instance;
  }

  current = start();

  return {
    get restarts() {
      return restarts;
    },
    currentWorker: () => current?.worker ?? null,

    dispatch(channel: unknown, sender: SenderFrame | null, input: unknown, emit?: HandlerContext['emit']): Promise<Envelope<unknown>> {
      if (closing !== null) return Promise.resolve(fail('INTERNAL', CORE_CLOSED_MESSAGE));
      // The router's own first check, here because only a channel name can cross to the worker.
      if (!isChannel(channel)) {
        return Promise.resolve(fail('UNKNOWN_CHANNEL', `"${String(channel).slice(0, 64)}" is not a Castellan IPC channel`));
      }
      const instance = current;
      if (instance === null || down) return Promise.resolve(fail('INTERNAL', CORE_DOWN_MESSAGE));
      const id = nextId++;
      return new Promise((resolve) => {
        instance.pending.set(id, { resolve, emit });
        try {
          instance.worker.postMessage({ type: 'dispatch', id, channel, sender, input } satisfies HostToWorker);
        } catch {
          // Electron's IPC delivers structured-clone data, so only a caller in this process can get here.
          instance.pending.delete(id);
          resolve(fail('INVALID_INPUT', `invalid input for ${channel}`, [{ path: '(input)', message: 'is not plain data' }]));
        }
      });
    },

    onChanges(listener) {
      changeListeners.add(listener);
      return () => changeListeners.delete(listener);
    },

    close() {
      closing ??= (async () => {
        const instance = current;
        current = null;
        if (instance === null) return;
        instance.stopping = true;
        instance.worker.postMessage({ type: 'close' } satisfies HostToWorker);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          instance.closed,
          new Promise<void>((resolve) => {
            timer = setTimeout(resolve, CLOSE_GRACE_MS);
          }),
        ]);
        clearTimeout(timer);
        await instance.worker.terminate();
        changeListeners.clear();
      })();
      return closing;
    },
  };
}

