import { z } from 'zod';
import { CHANGE_DOMAINS, type Channel, type EventName } from './channels.ts';
import type { ChannelDef } from './define.ts';
import { appContract } from './contract/app.ts';
import { deploymentsContract } from './contract/deployments.ts';
import { workspaceContract } from './contract/workspace.ts';
import { tokensContract } from './contract/tokens.ts';
import { caContract } from './contract/ca.ts';
import { settingsContract } from './contract/settings.ts';
import { workspaceSettingsContract } from './contract/workspace-settings.ts';
import { serveContract } from './contract/serve.ts';
import { workspaceDatabaseContract } from './contract/workspace-database.ts';

/** Every IPC method of Castellan, one domain file each, merged here. */
export const contract = {
  ...appContract,
  ...workspaceContract,
  ...deploymentsContract,
  ...tokensContract,
  ...caContract,
  ...settingsContract,
  ...workspaceSettingsContract,
  ...serveContract,
  ...workspaceDatabaseContract,
} as const satisfies Record<Channel, ChannelDef>;

export type Contract = typeof contract;
export type ChannelInput<C extends Channel> = z.input<Contract[C]['input']>;
export type ChannelOutput<C extends Channel> = z.output<Contract[C]['output']>;

export const eventSchemas = {
  progress: z.strictObject({
    task: z.string(),
    label: z.string(),
    done: z.number().int().nonnegative(),
    total: z.number().int().nonnegative(),
  }),
  changes: z.strictObject({
    /** The audit sequence number the change ends at. */
    cursor: z.number().int().nonnegative(),
    after: z.number().int().nonnegative(),
    domains: z.array(z.enum(CHANGE_DOMAINS)),
  }),
} as const satisfies Record<EventName, z.ZodType>;

export type EventPayload<E extends EventName> = z.output<(typeof eventSchemas)[E]>;
