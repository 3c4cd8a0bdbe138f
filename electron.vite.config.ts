import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';

export default defineConfig({
  main: {
    build: {
      outDir: 'out/main',
      // The core's worker thread (electron/core/ipc/core-host.ts starts it) is built beside index.js.
      rollupOptions: { input: { index: resolve('electron/main/index.ts'), 'core-worker': resolve('electron/core/ipc/core-worker.ts') } },
    },
  },
  preload: {
    build: {
      outDir: 'out/preload',
      // Sandboxed preloads can require nothing but `electron`: inline everything else.
      externalizeDeps: false,
      rollupOptions: {
        input: { index: resolve('electron/preload/index.ts') },
        external: ['electron'],
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: 'renderer',
    base: './',
    plugins: [react()],
    build: {
      outDir: 'out/renderer',
      // electron-vite leaves builds unminified; the renderer ships minified, one chunk per page
      // (loaded on first use, App.tsx), so the first paint loads only the shell (test/unit/build-output.test.ts).
      minify: true,
      rollupOptions: {
        input: { index: resolve('renderer/index.html') },
        // Few requests rather than many small chunks: Chromium fetches at most six files at a
        // time from one origin, and the Tokens page's first rows (bench item 7) waited on a
        // second round of fetches both for the shell (eleven chunks) and for the page (seven).
        // - the shell: everything index.html loads before the first paint, in one file;
        // - the parts several pages share (Mantine components, the token widgets, the zod-free
        //   policy helpers), in one chunk, so a page is its own chunk plus `parts` (and the zod
        //   schemas for the pages that validate). The pattern leaves zod and its importers out.
        output: {
          codeSplitting: {
            groups: [
              { name: 'shell', tags: ['$initial'], priority: 2 },
              {
                name: 'parts',
                minShareCount: 2,
                priority: 1,
                test: /[\\/]node_modules[\\/]@mantine[\\/]|[\\/]shared[\\/]policy[\\/](levels|token-risk|findings|describe)\.ts$|[\\/]renderer[\\/]src[\\/]/,
              },
            ],
          },
        },
      },
    },
  },
});
