/**
 * Vite builds the dashboard into dist/, which the service serves at `/`. `npm run dev -w
 * @sortition/dashboard` serves it with hot reload and forwards API calls to a service on
 * SORTITION_URL (default http://127.0.0.1:8080).
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const service = process.env['SORTITION_URL'] ?? 'http://127.0.0.1:8080';

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  // Workspace packages (@sortition/core) are bundled from their TypeScript sources.
  resolve: { conditions: ['source', 'module', 'browser', 'development|production'] },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: Object.fromEntries(['/v1', '/health', '/openapi.json', '/.well-known'].map((path) => [path, { target: service, changeOrigin: false }])),
  },
});
