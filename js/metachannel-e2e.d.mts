// dist/metachannel-e2e.mjs, written by scripts/build.mjs from js/e2e-chunk.ts: the on-demand
// encryption chunk. Written out (no import of js/): js/e2e-load.ts checks that it fits its
// EncryptionModule, and js/e2e-chunk.ts defines it.
export declare function sealer(
  key: string | Uint8Array,
  maxBytes?: number,
): {
  sealText(text: string): Uint8Array;
  sealBinary(bytes: Uint8Array): Uint8Array;
  open(frame: Uint8Array): { data: string | Uint8Array } | { failure: "short" | "version" | "auth" | "kind" | "utf8" };
  receive(data: unknown): { data: string | Uint8Array } | { dropped: string } | null;
};
export declare function adopt(
  s: {
    readyState: number;
    onopen: ((e: any) => void) | null;
    onmessage: ((e: any) => void) | null;
    onerror: ((e: any) => void) | null;
    onclose: ((e: any) => void) | null;
    send(data: string | Uint8Array | ArrayBuffer): void;
    close(code?: number, reason?: string): void;
  },
  make: () => any,
  o: {
    key: string;
    maxBytes: number;
    drops: object;
    report(message: string, detail: { count: number; total: number }): void;
  },
  sync: boolean,
): void;
/** Node: libsodium (sodium-native) seals and opens the sealers made from now on; null: @noble/ciphers. */
export declare function setSodium(
  sodium: {
    crypto_aead_xchacha20poly1305_ietf_encrypt(c: Uint8Array, m: Uint8Array, ad: Uint8Array, nsec: null, npub: Uint8Array, k: Uint8Array): number;
    crypto_aead_xchacha20poly1305_ietf_decrypt(m: Uint8Array, nsec: null, c: Uint8Array, ad: Uint8Array, npub: Uint8Array, k: Uint8Array): number;
  } | null,
): void;
/** "@noble/ciphers" or "sodium-native". */
export declare function cipherName(): string;
