#!/usr/bin/env node
/** Entry point of the `castellan` CLI (`npm run cli -- …`). */
import { runCli } from './cli.ts';
import { COMMANDS } from './commands/index.ts';
import { processIO } from './io.ts';

process.exitCode = await runCli(process.argv.slice(2), processIO(), COMMANDS);
