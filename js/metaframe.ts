/**
 * metachannel/metaframe: the metapage side alone (MetaframeClient, bindMetaframe,
 * connectFromEnv, metaframeDefinition), for pages that import only what they use. Built on its
 * own into dist/metaframe.mjs/.cjs (scripts/build.mjs): the Channel, the loader, the errors and
 * the route hub are the package root's, imported as "metachannel", so a page has one loader.
 * The root entry exports the same names.
 *
 * @packageDocumentation
 */
export { MetaframeClient } from "./metaframe-client.js";
export { bindMetaframe } from "./bind-metaframe.js";
export { connectFromEnv } from "./connect-from-env.js";
export { metaframeDefinition } from "./metaframe-definition.js";
