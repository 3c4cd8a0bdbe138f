import { z } from 'zod';
import { defineChannel } from '../define.ts';

export const appContract = {
  'app:info': defineChannel({
    summary: 'read the application and workspace information',
    input: z.strictObject({}),
    output: z.strictObject({
      appName: z.string(),
      appVersion: z.string(),
      workspacePath: z.string(),
      platform: z.string(),
      versions: z.strictObject({
        node: z.string(),
        electron: z.string(),
        chrome: z.string(),
      }),
    }),
  }),
} as const;
