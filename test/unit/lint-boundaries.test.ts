import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';
import { REPO_ROOT } from '../harness/renderer-server.ts';

/** The layer rules of STYLE.md, proven by linting code that breaks them at the real paths. */
const eslint = new ESLint({ cwd: REPO_ROOT });

async function messagesFor(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: `${REPO_ROOT}/${filePath}` });
  return (result?.messages ?? []).filter((m) => m.severity === 2).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('layer boundaries are enforced by lint', () => {
  test('a renderer file importing node:fs fails lint', async () => {
    const msgs = await messagesFor('renderer/src/tokens/Bad.tsx', "import fs from 'node:fs';\nexport const x = fs;\n");
    assert.ok(
      msgs.some((m) => m.startsWith('no-restricted-imports')),
      msgs.join('\n'),
    );
    const bare = await messagesFor('renderer/src/tokens/Bad.tsx', "import fs from 'fs';\nexport const x = fs;\n");
    assert.ok(
      bare.some((m) => m.startsWith('no-restricted-imports')),
      bare.join('\n'),
    );
  });

  test('a renderer file importing core code fails lint', async () => {
    const msgs = await messagesFor(
      'renderer/src/tokens/Bad.tsx',
      "import { createRouter } from '../../../electron/core/ipc/ipc-router.ts';\nexport const x = createRouter;\n", // self-contained: virtual path
    );
    assert.ok(
      msgs.some((m) => m.startsWith('import/no-restricted-paths')),
      msgs.join('\n'),
    );
  });

  test('a core file importing electron fails lint', async () => {
    const msgs = await messagesFor('electron/core/bad.ts', "import { app } from 'electron';\nexport const x = app;\n");
    assert.ok(
      msgs.some((m) => m.startsWith('no-restricted-imports')),
      msgs.join('\n'),
    );
    const shell = await messagesFor(
      'electron/core/bad.ts',
      "import { installMenu } from '../main/menu.ts';\nexport const x = installMenu;\n",
    );
    assert.ok(
      shell.some((m) => m.startsWith('import/no-restricted-paths')),
      shell.join('\n'),
    );
  });

  test('shared code importing node:crypto or react fails lint', async () => {
    assert.ok(
      (await messagesFor('shared/bad.ts', "import { createHash } from 'node:crypto';\nexport const x = createHash;\n"))
        .length > 0,
    );
    assert.ok(
      (await messagesFor('shared/bad.ts', "import { useState } from 'react';\nexport const x = useState;\n")).length >
        0,
    );
  });

  test('the preload may import the channel list but not the schemas', async () => {
    const okMsgs = await messagesFor(
      'electron/preload/index2.ts',
      "import { CHANNELS } from '../../shared/ipc/channels.ts';\nexport const x = CHANNELS;\n",
    );
    assert.deepEqual(okMsgs, []);
    const bad = await messagesFor(
      'electron/preload/index2.ts',
      "import { contract } from '../../shared/ipc/contract.ts';\nexport const x = contract;\n",
    );
    assert.ok(
      bad.some((m) => m.startsWith('import/no-restricted-paths')),
      bad.join('\n'),
    );
  });

  test('a test importing electron fails lint', async () => {
    const msgs = await messagesFor('test/unit/bad.test.ts', "import { app } from 'electron';\nexport const x = app;\n");
    assert.ok(
      msgs.some((m) => m.startsWith('no-restricted-imports')),
      msgs.join('\n'),
    );
  });

  test('the real tree is clean', async () => {
    const results = await eslint.lintFiles(['electron/main', 'electron/preload', 'shared/ipc', 'renderer/src']);
    const errors = results.flatMap((r) =>
      r.messages.filter((m) => m.severity === 2).map((m) => `${r.filePath}:${m.line} ${m.ruleId}`),
    );
    assert.deepEqual(errors, []);
  });
});
