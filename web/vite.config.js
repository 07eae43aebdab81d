// Builds the web UI into api/static/, which `twinhood serve` serves at `/`.
// `npm run dev` serves it on :5173 and sends API calls to a `twinhood serve` on :8000.
import { defineConfig } from "vite";

const api = process.env.TWINHOOD_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  base: "/",
  build: {
    outDir: "../api/static",
    emptyOutDir: true,
    chunkSizeWarningLimit: 2000,
  },
  server: {
    proxy: {
      "/auth": api,
      "/tiles": api,
      "/bim": api,
      "/graphql": { target: api, ws: true },
    },
  },
});
