/**
 * Native file dialogs belong to the main process; the renderer never touches the file
 * system. The Electron shell implements this with `dialog`, the browser-test harness with a
 * queue of prepared answers (a stand-in for the OS, not for Castellan code).
 */
export interface FileFilter {
  name: string;
  extensions: string[];
}

export interface Dialogs {
  /** Paths the user chose, or null when cancelled. */
  openFiles(options: { title: string; filters: FileFilter[]; multiple?: boolean; folder?: boolean }): Promise<string[] | null>;
  /** The path to save to, or null when cancelled. */
  saveFile(options: { title: string; defaultName: string; filters: FileFilter[] }): Promise<string | null>;
  /**
   * A native yes/no question the page cannot answer for the admin: true only when they chose
   * `confirmLabel`. Optional: where it is missing, whatever needs it is refused.
   */
  confirm?(options: { title: string; message: string; detail: string; confirmLabel: string }): Promise<boolean>;
}
