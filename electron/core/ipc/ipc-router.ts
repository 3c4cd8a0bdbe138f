import type { z } from 'zod';
import { isChannel, type Channel, type EventName } from '../../../shared/ipc/channels.ts';
import { contract, type ChannelInput, type ChannelOutput, type EventPayload } from '../../../shared/ipc/contract.ts';
import type { ChannelDef } from '../../../shared/ipc/define.ts';
import { fail, ok, type Envelope, type IssueSummary } from '../../../shared/ipc/envelope.ts';
import { isCastellanError } from '../../../shared/errors.ts';

/**
 * What the transport knows about the frame that sent a request. `null` when the frame is
 * gone (Electron's `event.senderFrame` can be null after a navigation): always refused.
 */
export interface SenderFrame {
  url: string;
  isMainFrame: boolean;
}

export interface HandlerContext {
  sender: SenderFrame;
  emit<E extends EventName>(event: E, payload: EventPayload<E>): void;
}

export type Handler<C extends Channel> = (
  input: z.output<(typeof contract)[C]['input']>,
  ctx: HandlerContext,
) => ChannelOutput<C> | Promise<ChannelOutput<C>>;

export type HandlerMap = { [C in Channel]?: Handler<C> };

export interface RouterOptions {
  /** Origins (`scheme://host[:port]`) whose main frame may call the API. */
  allowedOrigins: readonly string[];
  handlers: HandlerMap;
  /** Where unexpected failures are reported; only the error's class and stack frames, never its message. */
  log?: (line: string) => void;
  /** Tests may swap a channel's schema pair; the app never does. */
  contract?: Partial<Record<Channel, ChannelDef>>;
}

export interface Router {
  dispatch(
    channel: unknown,
    sender: SenderFrame | null,
    input: unknown,
    emit?: HandlerContext['emit'],
  ): Promise<Envelope<unknown>>;
}

/** `scheme://host[:port]`; Node's URL gives "null" as the origin of non-special schemes like `castellan:`. */
export function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    if (!u.host) return null;
    return `${u.protocol}//${u.host}`;
  } catch {
    return null;
  }
}

function issuesOf(error: z.ZodError): IssueSummary[] {
  return error.issues.map((issue) => ({
    path: issue.path.map(String).join('.') || '(input)',
    message: issue.message,
  }));
}

/**
 * The main-side half of the IPC boundary: sender check, strict input parse, handler,
 * output parse (so nothing the contract does not name — a private key above all — can leave),
 * and an envelope with a typed error code.
 */
export function createRouter(options: RouterOptions): Router {
  const allowed = new Set(options.allowedOrigins);
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));

  return {
    async dispatch(channel, sender, input, emit) {
      if (!isChannel(channel)) {
        return fail('UNKNOWN_CHANNEL', `"${String(channel).slice(0, 64)}" is not a Castellan IPC channel`);
      }
      if (sender === null) {
        return fail('FORBIDDEN_SENDER', `refused ${channel}: the sending frame is gone`);
      }
      if (!sender.isMainFrame) {
        return fail('FORBIDDEN_SENDER', `refused ${channel}: only the app's main frame may call the API`);
      }
      const origin = originOf(sender.url);
      if (origin === null || !allowed.has(origin)) {
        return fail('FORBIDDEN_SENDER', `refused ${channel}: origin ${origin ?? '(none)'} is not the app`);
      }

      const def: ChannelDef = options.contract?.[channel] ?? contract[channel];
      const parsedInput = def.input.safeParse(input);
      if (!parsedInput.success) {
        return fail('INVALID_INPUT', `invalid input for ${channel}`, issuesOf(parsedInput.error));
      }
      const handler = options.handlers[channel] as
        | ((input: unknown, ctx: HandlerContext) => unknown)
        | undefined;
      if (!handler) {
        return fail('UNSUPPORTED', `${channel} is not available in this build`);
      }

      let result: unknown;
      try {
        result = await handler(parsedInput.data, {
          sender,
          emit: emit ?? (() => undefined),
        });
      } catch (err) {
        if (isCastellanError(err)) return fail(err.code, err.message);
        log(`castellan: ${channel} failed with ${errorLine(err)}`);
        return fail('INTERNAL', `${channel} failed unexpectedly; see the main-process log`);
      }

      const parsedOutput = def.output.safeParse(result);
      if (!parsedOutput.success) {
        log(`castellan: ${channel} produced output outside its contract (${parsedOutput.error.issues.length} issues)`);
        return fail('INVALID_OUTPUT', `${channel} produced an answer outside its contract; nothing was returned`);
      }
      return ok(parsedOutput.data);
    },
  };
}

export type { ChannelInput, ChannelOutput };

/**
 * An unexpected error as a log line: its class and where it came from (five stack frames), never
 * its message, which may quote data.
 */
export function errorLine(err: unknown): string {
  const stack = err instanceof Error ? (err.stack ?? '').split('\n').slice(1, 6).join('\n') : '';
  return `${err instanceof Error ? err.name : typeof err}${stack ? `\n${stack}` : ''}`;
}
