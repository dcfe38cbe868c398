/**
 * metachannel/chat: ChatClient alone, for pages that import only what they use. Built on its
 * own into dist/chat.mjs/.cjs (scripts/build.mjs): the Channel, the loader, the errors and the
 * route hub are the package root's, imported as "metachannel". The root entry exports it too.
 *
 * @packageDocumentation
 */
export { ChatClient } from "./chat-client.js";
