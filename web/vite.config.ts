import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// `npm run dev` proxies /graphql, /imports and /dev to the CRM started by `make run` (TURNKEY_WEB_PORT).
const crm = process.env.TURNKEY_WEB_URL ?? 'http://127.0.0.1:4080';

export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', sourcemap: false, chunkSizeWarningLimit: 900 },
  server: { proxy: { '/graphql': crm, '/imports': crm, '/dev': crm, '/config.json': crm } },
});
