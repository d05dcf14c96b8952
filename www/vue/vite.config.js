import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";
import { apiMePlugin } from "../api/me.mjs";

// Served under /vue/ (next to the demo, /react/ and the script-tag page on one origin).
export default defineConfig({
  base: "/vue/",
  plugins: [vue(), apiMePlugin()],
  server: { port: 5173, strictPort: true },
  preview: { port: 5173, strictPort: true },
  build: { sourcemap: true },
});
