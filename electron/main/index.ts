/**
 * The Electron shell: window, menu, IPC registration. Thin on purpose — every decision
 * about keys, tokens and certificates lives in electron/core and runs in plain Node too.
 */
import { app, BrowserWindow, ipcMain, type IpcMainInvokeEvent } from 'electron';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { CHANNELS } from '../../shared/ipc/channels.ts';
import { startCoreHost } from '../core/ipc/core-host.ts';
import { originOf, type SenderFrame } from '../core/ipc/ipc-router.ts';
import { rendererEntry } from '../core/renderer-entry.ts';
import { nativeDialogs } from './dialogs.ts';
import { safeStorageKeychain } from './keychain.ts';
import { installMenu } from './menu.ts';
import { chooseDatabase } from '../core/workspace/database-choice.ts';
import { electronDatabasePreference, electronSettings } from './settings.ts';
import { APP_ORIGIN, registerAppScheme, serveRenderer } from './protocol.ts';
import { hardenApp, hardenSession } from './security.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
// A packaged app never loads ELECTRON_RENDERER_URL (see renderer-entry.ts).
const entry = rendererEntry({ isPackaged: app.isPackaged, env: process.env, appOrigin: APP_ORIGIN });
const isDev = entry.dev;
const appOrigin = entry.origin;

function senderOf(event: IpcMainInvokeEvent): SenderFrame | null {
  const frame = event.senderFrame;
  if (!frame) return null;
  return { url: frame.url, isMainFrame: frame.parent === null && frame === event.sender.mainFrame };
}

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  registerAppScheme();
  hardenApp((url) => originOf(url) === appOrigin);

  let mainWindow: BrowserWindow | null = null;

  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });

  void app.whenReady().then(() => {
    hardenSession();
    serveRenderer(path.join(here, '../renderer'));
    installMenu(isDev);

    // The CLI's default (--data-dir unset) is this same folder, so both share one workspace.
    const workspacePath = path.join(app.getPath('userData'), 'workspace');
    // Settings → Database (issue 14): CASTELLAN_DATABASE_URL wins, else the saved preference, else
    // the embedded file in workspacePath. Chosen once: a changed preference opens at the next start.
    const databasePreference = electronDatabasePreference();
    const database = chooseDatabase(process.env, databasePreference.get());
    // The core — router, workspace, publishing, change watcher — runs in a worker thread
    // (electron/core/ipc/core-worker.ts, built beside this file): storage never blocks this thread.
    // It reaches safeStorage, electron-store and the native dialogs through the host.
    const core = startCoreHost({
      worker: path.join(here, 'core-worker.js'),
      workspacePath,
      allowedOrigins: [appOrigin],
      info: {
        appName: app.getName(),
        appVersion: app.getVersion(),
        workspacePath,
        platform: process.platform,
        versions: {
          node: process.versions.node,
          electron: process.versions.electron ?? 'unknown',
          chrome: process.versions.chrome ?? 'unknown',
        },
      },
      dialogs: nativeDialogs,
      keychain: safeStorageKeychain,
      settings: electronSettings(),
      database,
      databasePreference,
    });
    // Changes made elsewhere (the CLI, another admin) reach every open page (change-feed.ts).
    core.onChanges((change) => {
      for (const w of BrowserWindow.getAllWindows()) {
        if (!w.webContents.isDestroyed()) w.webContents.send('event:changes', change);
      }
    });
    // Publishing stops and the workspace closes before the process exits.
    let coreClosed = false;
    app.on('will-quit', (event) => {
      if (coreClosed) return;
      event.preventDefault();
      void core.close().finally(() => {
        coreClosed = true;
        app.quit();
      });
    });

    for (const channel of CHANNELS) {
      ipcMain.handle(channel, (event, input: unknown) =>
        core.dispatch(channel, senderOf(event), input, (name, payload) => {
          if (!event.sender.isDestroyed()) event.sender.send(`event:${name}`, payload);
        }),
      );
    }

    mainWindow = new BrowserWindow({
      width: 1360,
      height: 880,
      minWidth: 960,
      minHeight: 600,
      title: 'Castellan',
      show: false,
      webPreferences: {
        preload: path.join(here, '../preload/index.cjs'),
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        experimentalFeatures: false,
        webviewTag: false,
        devTools: isDev,
        spellcheck: false,
      },
    });
    mainWindow.once('ready-to-show', () => mainWindow?.show());
    mainWindow.on('closed', () => {
      mainWindow = null;
    });
    void mainWindow.loadURL(entry.url);
  });

  app.on('window-all-closed', () => {
    app.quit();
  });
}
