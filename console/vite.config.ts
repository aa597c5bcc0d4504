import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

// Served by the host at /admin (host/api/console.py) under a strict Content-Security-Policy:
// every asset is a file of dist/ (nothing inlined, no CDN, no external font).
export default defineConfig({
  base: "/admin/",
  plugins: [preact()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
    sourcemap: false,
  },
});
