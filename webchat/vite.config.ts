/// <reference types="vitest" />
import { defineConfig } from "vite";

// No @vitejs/plugin-react: esbuild compiles TSX with the automatic JSX runtime (tsconfig "jsx").
export default defineConfig({
  esbuild: { jsx: "automatic" },
  server: {
    proxy: { "/api": { target: "http://127.0.0.1:8000", ws: true } },
  },
  build: { outDir: "dist", sourcemap: false, chunkSizeWarningLimit: 1500 },
  test: { environment: "node", include: ["src/**/*.test.ts", "src/**/*.test.tsx"] },
});
