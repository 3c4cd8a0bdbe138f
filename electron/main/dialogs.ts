import { BrowserWindow, dialog } from 'electron';
import type { Dialogs } from '../core/dialogs.ts';

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
};
