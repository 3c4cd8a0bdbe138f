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
      // (React.lazy in App.tsx), so the first paint loads only the shell (test/unit/build-output.test.ts).
      minify: true,
      rollupOptions: { input: { index: resolve('renderer/index.html') } },
    },
  },
});
