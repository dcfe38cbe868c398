// Where minted channel URLs point, and who the client is, for a relay behind a proxy.
//
// A relay behind a TLS-terminating proxy sees plain HTTP from the proxy; the page that asked
// for a channel is on https:, and a browser there refuses a ws:// URL. Two ways to mint the
// right URL:
//   --public-url wss://chat.example.com   every minted URL starts with it (fixed), or
//   --trust-proxy 10.0.0.5,10.1.0.0/16    X-Forwarded-Proto / X-Forwarded-Host / X-Forwarded-For
//                                         are believed, but only on connections from these
//                                         addresses or subnets (anyone else could send them).
import net from "node:net";

// Only a plain hostname[:port] or [ipv6][:port] from a Host header is echoed back in channel
// URLs; anything else falls back to the listen address.
const HOST_HEADER = /^(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(?::\d{1,5})?$/;

/** Throws a TypeError naming what to fix; returns the base (ws:// or wss://, no trailing slash). */
export function checkPublicUrl(value) {
  let u = null;
  try {
    u = typeof value === "string" ? new URL(value) : null;
  } catch {
    // reported below
  }
  const schemes = { "ws:": "ws:", "wss:": "wss:", "http:": "ws:", "https:": "wss:" };
  if (!u || !schemes[u.protocol] || !u.hostname || u.username || u.password || u.search || u.hash) {
    throw new TypeError(
      "publicUrl must be a URL like wss://chat.example.com (or with a path prefix: wss://example.com/relay), without query, fragment or credentials",
    );
  }
  return `${schemes[u.protocol]}//${u.host}${u.pathname.replace(/\/+$/, "")}`;
}

/** An address the way Node reports a peer (IPv4-mapped IPv6 as plain IPv4). */
export function normalizeAddress(address) {
  const a = String(address ?? "");
  return a.startsWith("::ffff:") && net.isIPv4(a.slice(7)) ? a.slice(7) : a.toLowerCase();
}

/**
 * Throws a TypeError naming the bad entry; returns the trusted addresses (IPs, or subnets as
 * 10.0.0.0/8 and fd00::/8) as a net.BlockList, null for none.
 */
export function checkTrustProxy(list) {
  let out = null;
  for (const entry of list ?? []) {
    const a = String(entry).trim();
    const [ip, bits, extra] = a.split("/");
    const family = net.isIPv4(ip) ? "ipv4" : net.isIPv6(ip) ? "ipv6" : null;
    const prefix = bits === undefined ? null : /^\d{1,3}$/.test(bits) ? Number(bits) : -1;
    if (!family || extra !== undefined || prefix === -1 || prefix > (family === "ipv4" ? 32 : 128)) {
      throw new TypeError(`trustProxy entries must be IP addresses or subnets like 10.0.0.0/8 (got ${JSON.stringify(a.slice(0, 60))})`);
    }
    out ??= new net.BlockList();
    if (prefix === null) out.addAddress(normalizeAddress(ip), family);
    else out.addSubnet(ip, prefix, family);
  }
  return out;
}

function inList(list, address) {
  const family = net.isIPv4(address) ? "ipv4" : net.isIPv6(address) ? "ipv6" : null;
  return family !== null && list.check(address, family);
}

function firstValue(header) {
  const v = Array.isArray(header) ? header[0] : header;
  return typeof v === "string" ? v.split(",")[0].trim() : "";
}

export function formatHost(host) {
  // A wildcard bind address is not something a client can connect to.
  if (host === "0.0.0.0" || host === "::" || host === "") host = "127.0.0.1";
  return host.includes(":") ? `[${host}]` : host;
}

export class PublicUrls {
  #base;
  #trusted;

  /** @param {{publicUrl?: string | null, trustProxy?: string[]}} options (already checked or not: both throw TypeError) */
  constructor({ publicUrl, trustProxy }) {
    this.#base = publicUrl ? checkPublicUrl(publicUrl) : null;
    this.#trusted = checkTrustProxy(trustProxy);
  }

  /** True when the request came straight from a configured proxy. */
  trusted(req) {
    return this.#trusted !== null && inList(this.#trusted, normalizeAddress(req?.socket?.remoteAddress));
  }

  /** The client's address: the peer, or (from a trusted proxy) the last X-Forwarded-For hop no proxy of ours added. */
  clientAddress(req) {
    const peer = normalizeAddress(req?.socket?.remoteAddress);
    if (!this.trusted(req)) return peer;
    const raw = req.headers["x-forwarded-for"];
    const hops = (Array.isArray(raw) ? raw.join(",") : (raw ?? "")).split(",").map((h) => normalizeAddress(h.trim()));
    for (let i = hops.length - 1; i >= 0; i -= 1) {
      if (!net.isIP(hops[i])) break;
      if (!inList(this.#trusted, hops[i])) return hops[i];
    }
    return peer;
  }

  /** host[:port] to show: the Host header if it is a plain one, else the listen address. */
  static host(hostHeader, fallback) {
    return typeof hostHeader === "string" && HOST_HEADER.test(hostHeader) ? hostHeader : fallback;
  }

  /**
   * The base of channel URLs minted for `req` (or for `hostHeader` in-process): --public-url,
   * else ws(s)://host from the request, believing X-Forwarded-* only from a trusted proxy.
   */
  base(req, hostHeader, fallbackHost) {
    if (this.#base) return this.#base;
    let scheme = "ws";
    let host = hostHeader;
    if (req && this.trusted(req)) {
      const proto = firstValue(req.headers["x-forwarded-proto"]).toLowerCase();
      if (proto === "https" || proto === "wss") scheme = "wss";
      const fwdHost = firstValue(req.headers["x-forwarded-host"]);
      if (HOST_HEADER.test(fwdHost)) host = fwdHost;
    }
    return `${scheme}://${PublicUrls.host(host, fallbackHost)}`;
  }
}
