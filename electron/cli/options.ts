/** Reading a command's options, with the same messages in every command. */
import { UsageError, type CommandContext } from './cli.ts';

/** A string option's value, or undefined when it was not given. */
export function str(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A whole-number option from `min` to `max`, or undefined when it was not given. */
export function wholeNumber(ctx: CommandContext, name: string, min: number, max: number): number | undefined {
  const raw = str(ctx, name);
  if (raw === undefined) return undefined;
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not ${JSON.stringify(raw)}`);
  }
  return Number(raw);
}
