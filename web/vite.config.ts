// Vite builds the app into dist/, which the router serves at `/` (router/src/web-app.ts). In
// development `npm run dev -w web` serves it with hot reload and sends /graphql (HTTP and
// WebSocket) and /dev/token to the router on ROUTER_URL (default http://localhost:4000).
import react from '@vitejs/plugin-react'
import { defineConfig } from 'vite'

const router = process.env.ROUTER_URL ?? 'http://localhost:4000'

export default defineConfig({
  plugins: [react()],
  server: {
    port: 5173,
    proxy: {
      '/graphql': { target: router, ws: true, changeOrigin: true },
      '/dev/token': { target: router, changeOrigin: true },
      '/web-config.json': { target: router, changeOrigin: true },
    },
  },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true },
})
