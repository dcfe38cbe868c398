// A relay without Redis keeps its channels across a restart in one JSON file (--state-file):
//   { "version": 1, "channels": [["<sha-256 digest of a token, base64url>", <last activity, ms since epoch>], …] }
// Only digests: the file never holds a token, so reading it gives no channel URL.
// Writes are atomic: the whole file goes to "<path>.tmp", is fsynced, then renamed over the old
// one (a crash leaves the old file or the new one, never half of one). Writes coalesce: a
// change made while a write is running is written by the next one, and save() resolves once a
// write that includes every change made before the call is on disk.
import { promises as fs } from "node:fs";

const VERSION = 1;
const DIGEST = /^[A-Za-z0-9_-]{43}$/;

function stateError(message) {
  const err = new Error(message);
  err.code = "ESTATEFILE";
  return err;
}

/** Map digest -> last activity (ms); empty when the file does not exist. Rejects (ESTATEFILE) on a file it cannot use. */
export async function loadState(path) {
  let text;
  try {
    text = await fs.readFile(path, "utf8");
  } catch (err) {
    if (err.code === "ENOENT") return new Map();
    throw stateError(`cannot read the state file ${path}: ${err.code ?? err.message}`);
  }
  let data = null;
  try {
    data = JSON.parse(text);
  } catch {
    // reported below
  }
  if (!data || data.version !== VERSION || !Array.isArray(data.channels)) {
    throw stateError(`the state file ${path} is not a metachannel relay state file (version ${VERSION}); move it away to start empty`);
  }
  const out = new Map();
  for (const entry of data.channels) {
    if (Array.isArray(entry) && DIGEST.test(entry[0]) && Number.isFinite(entry[1])) out.set(entry[0], entry[1]);
  }
  return out;
}

export class StateFile {
  #path;
  #snapshot; // () => [[digest, touched], …]
  #running = null; // the write in progress
  #next = null; // the write that will start after it (covers changes made meanwhile)
  #onError;

  constructor(path, snapshot, onError) {
    this.#path = path;
    this.#snapshot = snapshot;
    this.#onError = onError;
  }

  /** Resolves once the state as of now is on disk (never rejects: failures go to onError). */
  save() {
    if (!this.#running) {
      this.#running = this.#write().finally(() => (this.#running = null));
      return this.#running;
    }
    this.#next ??= this.#running.then(() => {
      this.#next = null;
      return this.save();
    });
    return this.#next;
  }

  async #write() {
    const tmp = `${this.#path}.tmp`;
    const body = JSON.stringify({ version: VERSION, channels: this.#snapshot() });
    let handle = null;
    try {
      handle = await fs.open(tmp, "w", 0o600);
      await handle.writeFile(body);
      await handle.sync();
      await handle.close();
      handle = null;
      await fs.rename(tmp, this.#path);
    } catch (err) {
      await handle?.close().catch(() => {});
      this.#onError(`cannot write the state file ${this.#path}: ${err.code ?? err.message}`);
    }
  }
}
