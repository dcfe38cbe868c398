// What the test runners share: running a command, a TAP-ish report for the suites that are not
// node --test (tests/package, tests/bundlers), and a raw `ws` peer on a channel.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Runs a command; resolves { code, signal, stdout, stderr, ms } and never rejects (a command
 * that cannot start has code -1; one killed after timeoutMs says so on stderr).
 */
export function exec(cmd, args, { cwd = root, env = {}, timeoutMs = 180000 } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${timeoutMs} ms)`;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: -1, signal: null, stdout, stderr: `${stderr}\n${err.message}`, ms: Date.now() - started });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** `npm pack` of the repository into `dir`; resolves { info (npm's JSON for the tarball, or null), tarball, output }. */
export async function npmPack(dir) {
  const npm = process.platform === "win32" ? "npm.cmd" : "npm";
  const r = await exec(npm, ["pack", "--json", "--pack-destination", dir], { env: { npm_config_loglevel: "error" } });
  let info = null;
  try {
    info = r.code === 0 ? JSON.parse(r.stdout)[0] : null;
  } catch {
    info = null;
  }
  return { info, tarball: info ? path.join(dir, info.filename) : null, output: r.stdout + r.stderr };
}

/** TAP-ish lines ("ok N - name"), then "# pass N" / "# fail N" and "N passed, N failed" from end(). */
export function tap() {
  let passed = 0;
  let failed = 0;
  let n = 0;
  const indent = (text) =>
    String(text)
      .trimEnd()
      .split("\n")
      .map((l) => `  # ${l}`)
      .join("\n");
  const report = (ok, name, detail = "") => {
    n++;
    if (ok) passed++;
    else failed++;
    console.log(`${ok ? "ok" : "not ok"} ${n} - ${name}`);
    if (!ok && detail) console.log(indent(detail));
  };
  /** `fn` returns true/undefined (pass) or a string saying what is wrong; a throw fails too. */
  const check = (name, fn) => {
    try {
      const r = fn();
      report(r === undefined || r === true, name, typeof r === "string" ? r : "");
    } catch (err) {
      report(false, name, err?.stack ? err.stack : String(err));
    }
  };
  const end = () => {
    console.log(`# tests ${passed + failed}`);
    console.log(`# pass ${passed}`);
    console.log(`# fail ${failed}`);
    console.log(`${passed} passed, ${failed} failed`);
    process.exitCode = failed === 0 ? 0 : 1;
  };
  return { report, check, indent, end };
}

/** A raw `ws` client on `url`, open; `got` collects what it receives, parsed as JSON. */
export async function rawPeer(url) {
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  const got = [];
  ws.on("message", (d) => got.push(JSON.parse(String(d))));
  return { ws, got };
}

/** Resolves with the HTTP status a WebSocket upgrade to `url` was refused with. */
export function refusedStatus(url, protocols, options) {
  const ws = new WebSocket(url, protocols, options);
  return new Promise((resolve, reject) => {
    ws.once("open", () => {
      ws.terminate();
      reject(new Error("upgrade unexpectedly accepted"));
    });
    ws.once("error", (err) => {
      const m = /Unexpected server response: (\d+)/.exec(err.message);
      if (m) resolve(Number(m[1]));
      else reject(err);
    });
  });
}
