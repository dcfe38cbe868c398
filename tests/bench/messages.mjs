// The messages every client sees: ~120-byte JSON ticks on channels c0..c9 (round-robin).
export const CHANNELS = 10;

/** Tick number i, as the flood server sends it (and as the send benchmark sends it). */
export function tickText(i) {
  const price = (100 + (i % 997) / 100).toFixed(2);
  return `{"type":"tick","channel":"c${i % CHANNELS}","seq":${i},"ts":${1732300000000 + i},"price":${price},"qty":${1 + (i % 50)},"side":"${i % 2 ? "sell" : "buy"}","venue":"XNAS","v":1}`;
}

/** The same tick as an object (what a client hands to send()). */
export function tickObject(i) {
  return {
    type: "tick",
    channel: `c${i % CHANNELS}`,
    seq: i,
    ts: 1732300000000 + i,
    price: Number((100 + (i % 997) / 100).toFixed(2)),
    qty: 1 + (i % 50),
    side: i % 2 ? "sell" : "buy",
    venue: "XNAS",
    v: 1,
  };
}
