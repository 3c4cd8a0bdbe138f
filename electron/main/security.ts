import { app, session, type WebContents } from 'electron';
import { CONTENT_SECURITY_POLICY } from '../../shared/csp.ts';


/** Electron security checklist items that apply to every web contents, app-wide. */
export function hardenApp(isAllowedUrl: (url: string) => boolean): void {
  app.on('web-contents-created', (_event, contents: WebContents) => {
    // Checklist 13: no navigation away from the app.
    contents.on('will-navigate', (event, url) => {
      if (!isAllowedUrl(url)) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!isAllowedUrl(url)) event.preventDefault();
    });
    // Checklist 14: no new windows.
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
    // Checklist 12: no <webview>.
    contents.on('will-attach-webview', (event) => event.preventDefault());
  });
}

export function hardenSession(): void {
  const ses = session.defaultSession;
  // Checklist 5: the console needs no camera, notifications, geolocation…
  ses.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  ses.setPermissionCheckHandler(() => false);
  // Checklist 7: CSP as a header too (the meta tag covers the dev server).
  ses.webRequest.onHeadersReceived((details, callback) => {
    callback({
      responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [CONTENT_SECURITY_POLICY] },
    });
  });
}
