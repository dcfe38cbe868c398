// dist/metachannel-e2e.mjs, written by scripts/build.mjs from js/e2e-chunk.ts: the on-demand
// encryption chunk. Written out (no import of js/): js/e2e-load.ts checks that it fits its
// EncryptionModule, and js/e2e-chunk.ts defines it.
export declare function sealer(
  key: Uint8Array,
  maxBytes?: number,
): {
  sealText(text: string): Uint8Array;
  sealBinary(bytes: Uint8Array): Uint8Array;
  open(frame: Uint8Array): { data: string | Uint8Array } | { failure: "short" | "version" | "auth" | "kind" | "utf8" };
  receive(data: unknown): { data: string | Uint8Array } | { dropped: string } | null;
};
