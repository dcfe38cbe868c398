/**
 * metachannel/live-data: LiveDataClient alone, for pages that import only what they use. Built
 * on its own into dist/live-data.mjs/.cjs (scripts/build.mjs): the Channel, the loader, the
 * errors and the route hub are the package root's, imported as "metachannel". The root entry
 * exports it too.
 *
 * @packageDocumentation
 */
export { LiveDataClient } from "./live-data-client.js";
