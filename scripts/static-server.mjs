// A small static file server for the demo and the browser tests: several roots under URL
// prefixes, the right MIME types (application/wasm for streaming instantiation), CORS for
// the metapage's metaframe.json probe, and no path traversal.
import http from "node:http";
import { createReadStream, statSync } from "node:fs";
import path from "node:path";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".cjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".svg": "image/svg+xml",
  ".map": "application/json",
  ".ts": "text/plain; charset=utf-8",
};

/**
 * @param {{ mounts: Record<string, string>, port?: number, host?: string, headers?: Record<string, string> }} options
 *   mounts: URL prefix ("/", "/dist/") -> folder on disk
 *   headers: more response headers on every answer (e.g. the cross-origin isolation pair)
 * @returns {Promise<{ url: string, port: number, close(): Promise<void> }>}
 */
export async function serveStatic({ mounts, port = 0, host = "127.0.0.1", headers = {} }) {
  const entries = Object.entries(mounts).sort((a, b) => b[0].length - a[0].length);
  const server = http.createServer((req, res) => {
    res.setHeader("Access-Control-Allow-Origin", "*");
    res.setHeader("Cache-Control", "no-store");
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
    if (req.method === "OPTIONS") {
      res.writeHead(204, { "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS", "Access-Control-Allow-Headers": "*" });
      res.end();
      return;
    }
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405).end();
      return;
    }
    let pathname;
    try {
      pathname = decodeURIComponent(new URL(req.url, "http://x").pathname);
    } catch {
      res.writeHead(400).end();
      return;
    }
    const mount = entries.find(([prefix]) => pathname.startsWith(prefix));
    if (!mount) {
      res.writeHead(404).end("not found");
      return;
    }
    const [prefix, dir] = mount;
    let file = path.resolve(dir, `.${path.sep}${pathname.slice(prefix.length)}`);
    if (!file.startsWith(path.resolve(dir))) {
      res.writeHead(403).end();
      return;
    }
    try {
      if (statSync(file).isDirectory()) file = path.join(file, "index.html");
      const size = statSync(file).size;
      res.writeHead(200, { "Content-Type": TYPES[path.extname(file)] || "application/octet-stream", "Content-Length": size });
      if (req.method === "HEAD") res.end();
      else createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404).end("not found");
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  const actual = server.address().port;
  return {
    url: `http://${host}:${actual}`,
    port: actual,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
