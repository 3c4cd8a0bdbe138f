import type { Command } from '../cli.ts';
import { caCommands } from './ca.ts';
import { deploymentCommands } from './deployments.ts';
import { migrateCommands } from './migrate.ts';
import { serveCommands } from './serve.ts';
import { settingsCommands } from './settings.ts';
import { tokenCommands } from './tokens.ts';
import { workspaceCommands } from './workspace.ts';

export const COMMANDS: Command[] = [
  ...workspaceCommands,
  ...deploymentCommands,
  ...tokenCommands,
  ...caCommands,
  ...settingsCommands,
  ...serveCommands,
  ...migrateCommands,
];
