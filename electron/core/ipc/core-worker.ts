/**
 * The core's own thread (issue 14: the Electron main process never blocks on storage). Everything
 * that touches the workspace — the app router and its handlers, publishing (ServeController), the
 * change watcher — runs here, in a `node:worker_threads` Worker that core-host.ts starts; the main
 * thread only relays IPC. A bulk revoke over 100,000 rows or a text search over a million then
 * takes as long as it takes without freezing the window.
 *
 * What only the main thread has is proxied (core-protocol.ts): native dialogs asynchronously, the
 * OS keychain and the preferences store through the synchronous lane, the app's name, version and
 * paths as data at start.
 */
import { parentPort, receiveMessageOnPort, workerData, type MessagePort } from 'node:worker_threads';
import { CastellanError } from '../../../shared/errors.ts';
import type { Settings } from '../../../shared/ipc/contract/settings.ts';
import { fail } from '../../../shared/ipc/envelope.ts';
import { ServeController } from '../serve/controller.ts';
import { currentActor } from '../workspace/actor.ts';
import { memoryDatabasePreference, type AppDatabase, type DatabasePreference } from '../workspace/database-choice.ts';
import { databaseToOpen } from '../workspace/database-status.ts';
import { watchChanges } from '../workspace/change-feed.ts';
import type { SettingsStore } from '../workspace/settings.ts';
import type { KeychainBackend } from '../workspace/vault.ts';
import { Workspace } from '../workspace/workspace.ts';
import { createAppRouter } from './app-router.ts';
import {
  fromWireError,
  type CoreWorkerData,
  type DialogMethod,
  type HostToWorker,
  type SyncAnswer,
  type SyncCall,
  type WorkerToHost,
} from './core-protocol.ts';
import type { Dialogs } from './dialogs.ts';

/** Longer than any keychain prompt an admin answers (macOS may ask before safeStorage answers). */
const SYNC_TIMEOUT_MS = 120_000;

if (parentPort === null) throw new Error('core-worker.ts runs as a worker thread, started by core-host.ts');
const port = parentPort;
const data = workerData as CoreWorkerData;
const post = (message: WorkerToHost): void => port.postMessage(message);

// ---- the synchronous lane: keychain and settings -------------------------------------------------

const flag = new Int32Array(data.syncFlag);
const syncPort: MessagePort = data.syncPort;
let nextSyncId = 1;

type SyncRequest = SyncCall extends infer C ? (C extends SyncCall ? Omit<C, 'id'> : never) : never;

function callSync(request: SyncRequest): unknown {
  const id = nextSyncId++;
  Atomics.store(flag, 0, 0);
  syncPort.postMessage({ ...request, id } as SyncCall);
  const deadline = Date.now() + SYNC_TIMEOUT_MS;
  for (;;) {
    const left = deadline - Date.now();
    if (left <= 0) throw new CastellanError('INTERNAL', 'the main process did not answer in time; restart the app');
    Atomics.wait(flag, 0, 0, left);
    Atomics.store(flag, 0, 0);
    // Answers to an earlier call that timed out are dropped: only this call's id counts.
    for (let m = receiveMessageOnPort(syncPort); m !== undefined; m = receiveMessageOnPort(syncPort)) {
      const answer = m.message as SyncAnswer;
      if (answer.id !== id) continue;
      if (!answer.ok) throw fromWireError(answer.error);
      return answer.value;
    }
  }
}

const keychain: KeychainBackend | undefined = data.hasKeychain
  ? {
      backend: () => callSync({ op: 'keychain.backend' }) as string,
      isEncryptionAvailable: () => callSync({ op: 'keychain.isEncryptionAvailable' }) as boolean,
      encryptString: (text) => {
        const bytes = callSync({ op: 'keychain.encryptString', text }) as Uint8Array;
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      },
      decryptString: (b) => callSync({ op: 'keychain.decryptString', bytes: new Uint8Array(b) }) as string,
    }
  : undefined;

const settings: SettingsStore = {
  get: () => callSync({ op: 'settings.get' }) as Settings,
  set: (patch) => callSync({ op: 'settings.set', patch }) as Settings,
};

// Settings → Database: the preference lives in electron-store, on the main thread.
const databasePreference: DatabasePreference = data.hasDatabasePreference
  ? {
      get: () => callSync({ op: 'database.get' }) as string | null,
      set: (url) => void callSync({ op: 'database.set', url }),
    }
  : memoryDatabasePreference();
const database: AppDatabase = {
  active: data.database ?? { source: 'default' },
  preference: databasePreference,
  workspaceDir: data.workspacePath,
};

// ---- native dialogs: an asynchronous round trip ---------------------------------------------------

let nextDialogId = 1;
const dialogWaiters = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

function askMain<T>(method: DialogMethod, options: unknown): Promise<T> {
  const id = nextDialogId++;
  return new Promise<T>((resolve, reject) => {
    dialogWaiters.set(id, { resolve: resolve as (v: unknown) => void, reject });
    post({ type: 'dialog', id, method, options });
  });
}

const dialogs: Dialogs = {
  openFiles: (options) => askMain('openFiles', options),
  saveFile: (options) => askMain('saveFile', options),
  ...(data.hasConfirm ? { confirm: (options) => askMain<boolean>('confirm', options) } : {}),
};

// ---- the core ----------------------------------------------------------------------------------

let workspace: Workspace | null = null;
const openWorkspace = (): Workspace => {
  if (workspace !== null) return workspace;
  // A chosen database that cannot be opened is refused with its reason on every request; the
  // app never falls back to the embedded file, which would be a different authority.
  const url = databaseToOpen(database.active);
  return (workspace = Workspace.open(data.workspacePath, {
    actor: data.actor ?? currentActor('app'),
    ...(url === undefined ? {} : { database: url }),
    ...(keychain ? { keychain } : {}),
    ...(data.kdf ? { kdf: data.kdf } : {}),
    ...(data.allowWeakKdfInTests ? { allowWeakKdfInTests: true } : {}),
  }));
};
const serve = new ServeController(openWorkspace);
const router = createAppRouter({
  allowedOrigins: data.allowedOrigins,
  services: { info: () => data.info, workspace: openWorkspace, dialogs, keychain, settings, serve, database },
  log: (line) => post({ type: 'log', line }),
});
// Changes made elsewhere (the CLI, another admin) reach every open page (change-feed.ts).
const stopWatching = watchChanges(
  () => workspace,
  (change) => post({ type: 'changes', change }),
  data.watchIntervalMs === undefined ? {} : { intervalMs: data.watchIntervalMs },
);

let closing = false;

async function close(): Promise<void> {
  closing = true;
  stopWatching();
  try {
    await serve.stop();
  } finally {
    workspace?.close();
    workspace = null;
    post({ type: 'closed' });
  }
}

port.on('message', (message: HostToWorker) => {
  switch (message.type) {
    case 'dispatch': {
      const { id, channel, sender, input } = message;
      if (closing) {
        post({ type: 'result', id, envelope: fail('INTERNAL', 'the Castellan core is shutting down') });
        return;
      }
      void router
        .dispatch(channel, sender, input, (name, payload) => post({ type: 'emit', id, name, payload }))
        .catch(() => fail('INTERNAL', `${channel} failed unexpectedly; see the main-process log`))
        .then((envelope) => post({ type: 'result', id, envelope }));
      return;
    }
    case 'dialog-answer': {
      const waiter = dialogWaiters.get(message.id);
      if (!waiter) return;
      dialogWaiters.delete(message.id);
      if (message.ok) waiter.resolve(message.value);
      else waiter.reject(fromWireError(message.error));
      return;
    }
    case 'close':
      void close();
      return;
  }
});

post({ type: 'ready' });
