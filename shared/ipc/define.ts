import type { z } from 'zod';

/** One IPC method: a `domain:verb` channel with a strict input schema and an output schema. */
export interface ChannelDef<I extends z.ZodType = z.ZodType, O extends z.ZodType = z.ZodType> {
  readonly input: I;
  readonly output: O;
  /** Shown in errors so an admin knows what was refused. */
  readonly summary: string;
}

export function defineChannel<I extends z.ZodType, O extends z.ZodType>(def: ChannelDef<I, O>): ChannelDef<I, O> {
  return def;
}
