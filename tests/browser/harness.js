// Browser test harness: one headless Chromium per test file (playwright-core driving the
// system /usr/bin/chromium), a real relay, and two static servers on two different sites
// (127.0.0.1 and 127.0.0.2: different origins AND different sites, so cross-origin frames
// run out of process as on the web). Each page collects its console errors and uncaught
// exceptions; tests fail on any they did not expect. Screenshots go to test-results/.
//
//   const h = await startHarness();        // in before()
//   const page = await h.newPage("name");   // page.errors: what went wrong on the page
//   h.assertNoErrors(page);
//   await h.screenshot(page, "name");       // test-results/name.png
//   await h.close();                        // in after(): browser, relay, servers, profile
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startRelay } from "../../relay/server.js";
import { serveStatic } from "../../scripts/static-server.mjs";
import { CHROMIUM, CHROMIUM_ARGS } from "../../scripts/toolchain.mjs";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const resultsDir = path.join(root, "test-results");

function mounts() {
  return {
    "/dist/": path.join(root, "dist"),
    "/node_modules/": path.join(root, "node_modules"),
    "/test-results/": path.join(root, "test-results"), // pages a test writes (tests/browser/readme.test.js)
    "/": path.join(root, "tests/browser/pages"),
  };
}

/**
 * Starts everything a browser test file needs.
 * @param {{ relay?: object }} [options] relay: options for startRelay
 */
export async function startHarness(options = {}) {
  const started = Date.now();
  const cleanups = [];
  const close = async () => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error("[harness] cleanup failed:", err);
      }
    }
  };
  try {
    const relay = await startRelay({ port: 0, ...options.relay });
    cleanups.push(() => relay.close());
    const site = await serveStatic({ mounts: mounts(), host: "127.0.0.1" });
    cleanups.push(() => site.close());
    // A second site for cross-origin frames: another loopback address is another site.
    const site2 = await serveStatic({ mounts: mounts(), host: "127.0.0.2" });
    cleanups.push(() => site2.close());

    const profile = mkdtempSync(path.join(os.tmpdir(), "mc-chromium-"));
    cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
    // launchPersistentContext is Playwright's way to pass --user-data-dir: a fresh one per file.
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1100, height: 720 },
    });
    cleanups.push(() => context.close());
    // The persistent context opens one blank page; keep it out of the way.
    for (const p of context.pages()) await p.close();
    mkdirSync(resultsDir, { recursive: true });

    return {
      relay,
      site,
      site2,
      context,
      startupMs: Date.now() - started,
      close,

      /** A new page whose console errors and uncaught exceptions are collected in page.errors. */
      async newPage(name = "page") {
        const page = await context.newPage();
        page.errors = [];
        page.consoleLines = [];
        page.on("console", (msg) => {
          const where = msg.location()?.url || "";
          const line = `[${msg.type()}] ${msg.text()}${where ? ` (${where})` : ""}`;
          page.consoleLines.push(line);
          if (msg.type() === "error") page.errors.push(`${name}: console.error ${line}`);
        });
        page.on("pageerror", (err) => page.errors.push(`${name}: uncaught ${err?.stack ? err.stack : err}`));
        page.on("crash", () => page.errors.push(`${name}: the page crashed`));
        cleanups.push(() => page.close().catch(() => {}));
        return page;
      },

      /** Fails with every console error / uncaught exception not matching one of `allowed`. */
      assertNoErrors(page, allowed = []) {
        const unexpected = page.errors.filter((e) => !allowed.some((re) => re.test(e)));
        if (unexpected.length) {
          throw new Error(`unexpected errors on the page:\n  ${unexpected.join("\n  ")}\nconsole:\n  ${page.consoleLines.join("\n  ")}`);
        }
      },

      /** Saves test-results/<name>.png and returns its path. */
      async screenshot(page, name) {
        const file = path.join(resultsDir, `${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        return file;
      },
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Polls `fn` (sync or async) until truthy; rejects after timeoutMs naming `what`. */
export async function until(fn, what, timeoutMs = 10000, intervalMs = 25) {
  const end = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
