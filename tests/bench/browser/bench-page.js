// The Chromium benchmarks, loaded by count.html, raw.html and mc.html. run.mjs calls
// benchSetup({url, warm, mode}) (connect + warm-up), then benchRun(n) (the measured part).
// Modes, as in tests/bench/client.mjs: "receive" (a flood of ticks, typed dispatch on
// `type`), "filtered" (the same flood, only channel "c3" wanted: raw parses every frame and
// compares `msg.channel`, metachannel subscribes a LiveDataClient), "send" (n tick objects
// sent with the same backpressure loop, the flood server counts them and answers "done").
(function () {
  const BATCH = 500;
  const HIGH = 1 << 20;
  let mode = "receive";
  let count = 0;
  let target = 0;
  let wake = null;
  let sum = 0;
  let client = null; // { sendText, sendObject, buffered }
  let tickObject = null;
  const onTick = (m) => {
    sum += m.seq;
    if (++count === target) wake();
  };
  // Ticks on channel "c3" among n (channels c0..c9 round-robin).
  const filteredCount = (n) => (n > 3 ? Math.floor((n - 4) / 10) + 1 : 0);
  const flood = (n) =>
    new Promise((resolve) => {
      count = 0;
      target = mode === "filtered" ? filteredCount(n) : n;
      wake = resolve;
      client.sendText(`{"cmd":"flood","n":${n}}`);
    });
  const yieldToEvents = () => new Promise((r) => setTimeout(r, 0));
  const sendRun = async (n) => {
    const done = new Promise((r) => (wake = r));
    client.sendText(`{"cmd":"expect","n":${n}}`);
    let i = 0;
    while (i < n) {
      const end = Math.min(n, i + BATCH);
      for (; i < end; i++) client.sendObject(tickObject(i));
      if (client.buffered() > HIGH) {
        while (client.buffered() > HIGH / 4) await yieldToEvents();
      }
    }
    await done;
  };
  const run = (n) => (mode === "send" ? sendRun(n) : flood(n));
  const opened = (ws) =>
    new Promise((res, rej) => {
      ws.onopen = res;
      ws.onerror = rej;
    });
  window.benchSetup = async ({ url, warm, mode: m }) => {
    mode = m || "receive";
    ({ tickObject } = await import("/bench/messages.mjs"));
    if (window.BENCH_CLIENT === "count") {
      // The floor: Chromium's own cost per frame (no JSON.parse, no dispatch).
      const ws = new WebSocket(url);
      ws.onmessage = () => {
        if (++count === target) wake();
      };
      await opened(ws);
      client = { sendText: (s) => ws.send(s), sendObject: (o) => ws.send(JSON.stringify(o)), buffered: () => ws.bufferedAmount };
    } else if (window.BENCH_CLIENT === "raw") {
      const ws = new WebSocket(url);
      const handlers = Object.create(null);
      handlers.tick = onTick;
      handlers.done = () => wake();
      ws.onmessage =
        mode === "filtered"
          ? (e) => {
              const msg = JSON.parse(e.data);
              if (msg.channel === "c3") onTick(msg);
            }
          : (e) => {
              const msg = JSON.parse(e.data);
              const fn = handlers[msg.type];
              if (fn !== undefined) fn(msg);
            };
      await opened(ws);
      client = { sendText: (s) => ws.send(s), sendObject: (o) => ws.send(JSON.stringify(o)), buffered: () => ws.bufferedAmount };
    } else {
      await MetaChannel.ready();
      const ch = new MetaChannel.Channel(url, { reconnect: { maxRetries: 0 } });
      if (mode === "filtered") new MetaChannel.LiveDataClient(ch).subscribe("c3", onTick);
      else if (mode === "send") ch.onMessage("done", () => wake());
      else ch.onMessage("tick", onTick);
      await ch.opened();
      client = { sendText: (s) => ch.send(s), sendObject: (o) => ch.send(o), buffered: () => ch.bufferedAmount };
    }
    await run(warm);
    return true;
  };
  window.benchRun = async (n) => {
    const t0 = performance.now();
    await run(n);
    const ms = performance.now() - t0;
    return { ms, msgsPerSec: (n / ms) * 1000, checksum: sum };
  };
})();
