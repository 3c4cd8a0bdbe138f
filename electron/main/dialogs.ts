import { BrowserWindow, dialog } from 'electron';
import type { Dialogs } from '../core/ipc/dialogs.ts';

export const nativeDialogs: Dialogs = {
  async openFiles({ title, filters, multiple, folder }) {
    const win = BrowserWindow.getFocusedWindow();
    const properties: ('openFile' | 'openDirectory' | 'multiSelections')[] = [folder ? 'openDirectory' : 'openFile'];
    if (multiple) properties.push('multiSelections');
    const options = { title, filters: folder ? [] : filters, properties };
    const result = win ? await dialog.showOpenDialog(win, options) : await dialog.showOpenDialog(options);
    return result.canceled ? null : result.filePaths;
  },
  async saveFile({ title, defaultName, filters }) {
    const win = BrowserWindow.getFocusedWindow();
    const options = { title, defaultPath: defaultName, filters };
    const result = win ? await dialog.showSaveDialog(win, options) : await dialog.showSaveDialog(options);
    return result.canceled || !result.filePath ? null : result.filePath;
  },
  async confirm({ title, message, detail, confirmLabel }) {
    const win = BrowserWindow.getFocusedWindow();
    // Cancel is the default and the Escape answer: only a deliberate choice confirms.
    const options = { type: 'warning' as const, title, message, detail, buttons: [confirmLabel, 'Cancel'], defaultId: 1, cancelId: 1, noLink: true };
    const result = win ? await dialog.showMessageBox(win, options) : await dialog.showMessageBox(options);
    return result.response === 0;
  },
};
