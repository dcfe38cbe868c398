// Shared by the three metaframes. startFrame() makes the MetaframeClient, binds its
// `_websocket_url_` input to one Channel (bindMetaframe follows URL changes and rotation) and
// reports the connection as the `status` output:
//   { state, attempt, reconnects, received, generation, error }
//   state       the Channel's state ("waiting" before the URL arrives)
//   attempt     the current reconnect attempt (0 once open)
//   reconnects  reconnect attempts since the frame loaded
//   received    messages this frame used (chat lines, quotes, progress updates)
//   generation  how many times the frame switched to a new URL (0 = the first one)
//   error       the last error code, e.g. "REVOKED" just after a rotation
//   peers       the other peers on the channel (presence), lost: messages reported MESSAGES_LOST
//   encrypted   channel.encrypted: the URL carries a key, every frame is sealed end to end
// The channel is reliable (nothing lost across drops: try "drop connection" in the status bar).
// The parent page shows it in its status strip. The frame never shows or reports the URL
// itself: it is the channel's secret; only ws://host/ch/… is displayed.
(function () {
  "use strict";

  function redact(url) {
    try {
      const u = new URL(url);
      return `${u.protocol}//${u.host}/ch/…`;
    } catch {
      return "";
    }
  }

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** A status bar at the bottom of the frame: coloured dot, state, redacted URL, counters. */
  function statusBar() {
    const bar = el("footer", "statusbar");
    const dot = el("span", "dot");
    const state = el("span", "state", "waiting");
    const where = el("span", "where", "waiting for _websocket_url_");
    const extra = el("span", "extra");
    const drop = el("button", "drop", "drop connection");
    drop.type = "button";
    drop.title = "Drop the socket as a network failure would; the channel reconnects and repairs what was missed";
    bar.append(dot, state, where, extra, drop);
    document.body.appendChild(bar);
    return function render(status, url, onDrop) {
      drop.onclick = onDrop || null;
      drop.disabled = status.state !== "open";
      bar.dataset.state = status.state;
      state.textContent = status.state;
      where.textContent = url ? redact(url) : "waiting for _websocket_url_";
      const bits = [];
      if (status.state === "reconnecting") bits.push(`attempt ${status.attempt}`);
      if (status.reconnects) bits.push(`${status.reconnects} reconnect${status.reconnects === 1 ? "" : "s"}`);
      if (status.generation > 0) bits.push(`URL #${status.generation + 1}`);
      bits.push(`${status.peers} other${status.peers === 1 ? "" : "s"} on the channel`);
      if (status.lost) bits.push(`${status.lost} lost`);
      if (status.encrypted) bits.push("encrypted");
      extra.textContent = bits.join(" · ");
    };
  }

  async function startFrame(options) {
    options = options || {};
    const MC = window.MetaChannel;
    const mf = new MC.MetaframeClient();
    const status = { state: "waiting", attempt: 0, reconnects: 0, received: 0, generation: -1, error: null, peers: 0, lost: 0, encrypted: false };
    const render = statusBar();

    let pending = null;
    let lastSent = 0;
    function report(now) {
      render(
        status,
        channel?.url,
        channel
          ? function () {
              channel._dropConnection();
            }
          : null,
      );
      // Outputs cross postMessage: at most ~5 a second, the last one always sent.
      const send = () => {
        pending = null;
        lastSent = Date.now();
        mf.setOutputs({ status: Object.assign({}, status) });
      };
      if (now) return send();
      if (pending) return;
      pending = setTimeout(send, Math.max(0, 200 - (Date.now() - lastSent)));
    }

    let channel = null;
    report(true);
    channel = await MC.bindMetaframe(mf, {
      reconnect: { minDelayMs: 250, maxDelayMs: 5000, factor: 2, jitter: 0.2 },
      queue: { maxMessages: 100, overflow: "drop-oldest" },
      reliable: true,
      presence: { state: { frame: document.title || location.pathname } },
    });

    let openedUrl = null;
    status.state = channel.state === "idle" ? "waiting" : channel.state;
    channel.on("state", function (e) {
      status.state = e.to === "idle" ? "waiting" : e.to;
      report(true);
    });
    channel.on("open", function (e) {
      status.encrypted = channel.encrypted;
      const url = channel.url || e.url;
      if (url !== openedUrl) {
        openedUrl = url;
        status.generation++;
      }
      status.attempt = 0;
      status.error = null;
      report(true);
    });
    channel.on("reconnecting", function (e) {
      status.attempt = e.attempt;
      status.reconnects++;
      report(true);
    });
    channel.on("error", function (err) {
      status.error = err.code;
      if (err.code === "MESSAGES_LOST") status.lost += err.detail.count;
      report();
    });
    channel.on("presence", function () {
      status.peers = channel.presence.size;
      status.others = Array.from(channel.presence.values()).map(function (s) {
        return s?.frame ? String(s.frame) : "a peer";
      });
      report();
    });
    if (channel.state === "open") {
      // Opened before the listeners were attached.
      openedUrl = channel.url;
      status.generation = 0;
      status.encrypted = channel.encrypted;
    }
    report(true);
    /** Call for each message the frame used: counted in the status output. */
    function received() {
      status.received++;
      report();
    }
    return { mf: mf, channel: channel, MC: MC, received: received, status: status };
  }

  window.DemoFrame = { startFrame: startFrame, el: el, redact: redact };
})();
