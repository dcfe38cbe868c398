/**
 * The script-tag build of the channel alone (dist/metachannel.core.js): `ready`, `connect`,
 * `Channel`, `MetaChannelError`, `isSupported`, `version`, `withNewKey` on the `MetaChannel` global, without
 * the metaframe, chat, live-data and request clients and the stores (dist/metachannel.js has
 * everything). A page loads one of the two.
 *
 * @packageDocumentation
 */
export { ready, isSupported, Channel, MetaChannelError, connect, version, withNewKey } from "./index.js";
