import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// The renderer is served from disk by `farfetchd-lab serve` and loaded from app.asar by Electron:
// relative asset paths work for both.
export default defineConfig({
  root: __dirname,
  base: './',
  plugins: [vue()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
});
