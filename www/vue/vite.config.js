import { defineConfig } from "vite";
import vue from "@vitejs/plugin-vue";
import { apiMePlugin } from "../api/me.mjs";

export default defineConfig({
  plugins: [vue(), apiMePlugin()],
  server: { port: 5173, strictPort: true },
  preview: { port: 5173, strictPort: true },
  build: { sourcemap: true },
});
