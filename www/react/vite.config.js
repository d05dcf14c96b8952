// Vite 8 compiles .jsx itself (Oxc); no React plugin is needed.
import { defineConfig } from "vite";
import { apiMePlugin } from "../api/me.mjs";

// Served under /react/ (next to the demo, /vue/ and the script-tag page on one origin).
export default defineConfig({
  base: "/react/",
  plugins: [apiMePlugin()],
  oxc: { jsx: { runtime: "automatic", importSource: "react" } },
  server: { port: 5173, strictPort: true },
  preview: { port: 5173, strictPort: true },
  build: { sourcemap: true },
});
