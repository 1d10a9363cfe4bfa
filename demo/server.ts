/** Serves the demo shop on a Node port (npm run dev, browser tests). */
import { type ServerType, serve } from "@hono/node-server";
import { createShop, type ShopOptions } from "./shop";

export type RunningShop = { url: string; close: () => Promise<void> };

export function startDemoShop(port: number, options: ShopOptions): Promise<RunningShop> {
  return new Promise((resolve) => {
    let server: ServerType;
    server = serve({ fetch: createShop(options).fetch, port, hostname: "127.0.0.1" }, () =>
      resolve({
        url: `http://localhost:${port}`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      }),
    );
  });
}
