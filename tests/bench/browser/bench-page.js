// The Chromium receive benchmark, loaded by raw.html and mc.html. run.mjs calls
// benchSetup({url, warm}) (connect + warm-up flood), then benchRun(n) (the measured flood).
(function () {
  let count = 0;
  let target = 0;
  let wake = null;
  let sum = 0;
  let sendText = null;
  const onTick = (m) => {
    sum += m.seq;
    if (++count === target) wake();
  };
  const flood = (n) =>
    new Promise((resolve) => {
      count = 0;
      target = n;
      wake = resolve;
      sendText(`{"cmd":"flood","n":${n}}`);
    });
  window.benchSetup = async ({ url, warm }) => {
    if (window.BENCH_CLIENT === "count") {
      // The floor: Chromium's own cost per frame (no JSON.parse, no dispatch).
      const ws = new WebSocket(url);
      ws.onmessage = () => {
        if (++count === target) wake();
      };
      await new Promise((res, rej) => {
        ws.onopen = res;
        ws.onerror = rej;
      });
      sendText = (s) => ws.send(s);
    } else if (window.BENCH_CLIENT === "raw") {
      const ws = new WebSocket(url);
      const handlers = Object.create(null);
      handlers.tick = onTick;
      ws.onmessage = (e) => {
        const m = JSON.parse(e.data);
        const fn = handlers[m.type];
        if (fn !== undefined) fn(m);
      };
      await new Promise((res, rej) => {
        ws.onopen = res;
        ws.onerror = rej;
      });
      sendText = (s) => ws.send(s);
    } else {
      await MetaChannel.ready();
      const ch = new MetaChannel.Channel(url, { reconnect: { maxRetries: 0 } });
      ch.onMessage("tick", onTick);
      await ch.opened();
      sendText = (s) => ch.send(s);
    }
    await flood(warm);
    return true;
  };
  window.benchRun = async (n) => {
    const t0 = performance.now();
    await flood(n);
    const ms = performance.now() - t0;
    return { ms, msgsPerSec: (n / ms) * 1000, checksum: sum };
  };
})();
