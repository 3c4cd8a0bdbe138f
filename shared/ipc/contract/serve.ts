import { z } from 'zod';
import { defineChannel } from '../define.ts';
import { empty } from './schemas.ts';

/**
 * Publishing from the app (Settings → Publishing): `castellan serve` started in the main
 * process, loopback only (a server on any other address needs TLS, configured with the CLI),
 * off until an admin starts it. Also each token's introspection count for the Tokens drawer.
 */
export const serveStatusSchema = z.strictObject({
  running: z.boolean(),
  url: z.string().nullable(),
  endpoints: z.array(z.strictObject({ name: z.string(), url: z.string() })),
  started_at: z.string().nullable(),
  requests: z.number().int().nonnegative(),
  public_base_url: z.string(),
  attempt_binding: z.boolean(),
});
export type ServeStatus = z.output<typeof serveStatusSchema>;

export const SERVE_LOOPBACK_HOSTS = ['127.0.0.1', '::1'] as const;

export const serveContract = {
  'serve:status': defineChannel({ summary: 'whether publishing runs, where, and how much it served', input: empty, output: serveStatusSchema }),
  'serve:start': defineChannel({
    summary: 'start publishing on a loopback address',
    input: z.strictObject({ host: z.enum(SERVE_LOOPBACK_HOSTS).default('127.0.0.1'), port: z.number().int().min(0).max(65535) }),
    output: serveStatusSchema,
  }),
  'serve:stop': defineChannel({ summary: 'stop publishing', input: empty, output: serveStatusSchema }),
  'serve:introspection': defineChannel({
    summary: 'how often, and when last, a token was introspected',
    input: z.strictObject({ id: z.number().int().positive() }),
    output: z.strictObject({ count: z.number().int().nonnegative(), last_at: z.number().int().nullable() }),
  }),
} as const;
