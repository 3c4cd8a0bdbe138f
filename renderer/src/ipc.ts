import { BRIDGE_GLOBAL, type Channel, type EventName } from '../../shared/ipc/channels.ts';
import type { ChannelInput, ChannelOutput, EventPayload } from '../../shared/ipc/contract.ts';
import type { Envelope, IssueSummary } from '../../shared/ipc/envelope.ts';
import type { Bridge } from '../../shared/ipc/bridge.ts';
import type { ErrorCode } from '../../shared/errors.ts';

/** An error answered by the main process, rethrown with its typed code. */
export class IpcError extends Error {
  readonly code: ErrorCode;
  readonly issues: IssueSummary[];
  constructor(code: ErrorCode, message: string, issues: IssueSummary[] = []) {
    super(message);
    this.name = 'IpcError';
    this.code = code;
    this.issues = issues;
  }
}

function bridge(): Bridge {
  const value = (window as unknown as Record<string, unknown>)[BRIDGE_GLOBAL];
  if (!value) throw new IpcError('INTERNAL', 'the Castellan preload is not loaded');
  return value as Bridge;
}

/** Call one contract method and unwrap its envelope. */
export async function call<C extends Channel>(channel: C, input: ChannelInput<C>): Promise<ChannelOutput<C>> {
  const [domain, verb] = channel.split(':') as [string, string];
  const methods = (bridge() as unknown as Record<string, Record<string, (i: unknown) => Promise<Envelope<unknown>>>>)[
    domain
  ];
  const method = methods?.[verb];
  if (!method) throw new IpcError('UNKNOWN_CHANNEL', `${channel} is not exposed by the preload`);
  const envelope = await method(input);
  if (envelope.ok) return envelope.data as ChannelOutput<C>;
  throw new IpcError(envelope.error.code, envelope.error.message, envelope.error.issues);
}

export function onEvent<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): () => void {
  return bridge().events.on(name, listener);
}

/** A readable message for any error, never a stack trace. */
export function errorMessage(err: unknown): string {
  if (err instanceof IpcError) {
    const detail = err.issues.length ? `: ${err.issues.map((i) => `${i.path} ${i.message}`).join('; ')}` : '';
    return `${err.message}${detail}`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
