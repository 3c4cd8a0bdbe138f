/**
 * The renderer's Content-Security-Policy: scripts only from the app itself. Mantine injects
 * <style> elements, hence 'unsafe-inline' for styles only. Sent as a header by the app's
 * protocol handler (and by the test server), and repeated in index.html's meta tag.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');
