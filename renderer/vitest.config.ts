import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';

// Component tests (renderer/test/*.spec.ts) in happy-dom; run from npm test by renderer/test/components.test.ts.
export default defineConfig({
  root: __dirname,
  plugins: [vue()],
  test: { environment: 'happy-dom', include: ['test/**/*.spec.ts'] },
});
