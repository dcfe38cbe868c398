// metaframe.json: what a metapage fetches from `<metaframe url>/metaframe.json` before it
// loads the frame (a 404 is tolerated, an HTML page in its place is logged as an error). The
// definition names the frame and declares the input that carries the channel URL.
import { DEFAULT_INPUT } from "./bind-metaframe.js";
import { invalid } from "./errors.js";

/** @public */
export interface MetaframeDefinitionOptions {
  /** The frame's name, shown by metapage editors. */
  name: string;
  description?: string;
  /** The input that carries the channel URL. Default "_websocket_url_" (as bindMetaframe). */
  input?: string;
  /** Other inputs and outputs of the frame, by name (the pipe's type, e.g. "string", "json"). */
  inputs?: Record<string, { type?: string }>;
  outputs?: Record<string, { type?: string }>;
}

/**
 * A metaframe definition (version "2", the metapage library's `MetaframeDefinitionV2`), to
 * serve as `metaframe.json` beside the frame's page: write it at build time, e.g.
 * `writeFileSync("public/metaframe.json", JSON.stringify(metaframeDefinition({ name: "chat" }), null, 2))`.
 *
 * @example
 * ```ts
 * metaframeDefinition({ name: "chat" });
 * // { version: "2", metadata: { name: "chat" }, inputs: { _websocket_url_: { type: "string" } } }
 * ```
 * @public
 */
export function metaframeDefinition(options: MetaframeDefinitionOptions): {
  version: "2";
  metadata: { name: string; description?: string };
  inputs: Record<string, { type?: string }>;
  outputs?: Record<string, { type?: string }>;
} {
  if (!options || typeof options !== "object") invalid("metaframeDefinition(options)", "an object with a name", options);
  const { name, description, input = DEFAULT_INPUT, inputs = {}, outputs } = options;
  if (typeof name !== "string" || name === "") invalid("options.name", "a non-empty string", name);
  if (description !== undefined && typeof description !== "string") invalid("options.description", "a string", description);
  if (typeof input !== "string" || input === "") invalid("options.input", "a non-empty input name", input);
  return {
    version: "2",
    metadata: description === undefined ? { name } : { name, description },
    inputs: { [input]: { type: "string" }, ...inputs },
    ...(outputs ? { outputs } : {}),
  };
}
