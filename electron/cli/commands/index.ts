import type { Command } from '../cli.ts';
import { deploymentCommands } from './deployments.ts';
import { workspaceCommands } from './workspace.ts';

export const COMMANDS: Command[] = [...workspaceCommands, ...deploymentCommands];
