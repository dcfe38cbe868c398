// The JS that runs inside the wasm module, all of it (emcc --js-library; CMakeLists.txt).
//
// - `MC` is the module's one slot for metachannel: every value the JS layer and this file
//   share lives in it, declared here once (js/core-glue.d.ts gives its type to the JS layer,
//   which reaches it as `core.mc`). The JS layer sets `events`, `createSocket` and
//   `createError`; its other members are the calls the JS layer makes. What only this file
//   reads (buffers, codecs, the sockets) is a `$mc*` library symbol of its own instead: a
//   variable or function of the glue's scope, which the script-tag builds' minifier renames,
//   where a member's name ships as written.
// - The `mc_*` functions below are the C++ core's imports (declared `extern "C"` in
//   bindings/bindings.cpp and bindings/emscripten_platform.cpp): events out of the core,
//   and the socket operations emscripten/websocket.h lacks.
// - Calls into the core are raw exports (`_mc_channel_*`, bindings/bindings.cpp); the wrappers
//   here take and return JS strings (createChannel writes the options into one heap block).
//   Embind is used only where no call can re-enter it (constants, validateUrl/redactUrl): an
//   Embind invoker built without DYNAMIC_EXECUTION shares its argument arrays between calls,
//   which a re-entrant call from an event listener would overwrite.
//
// Text crosses by pointer and length, so a U+0000 inside a frame survives.

mergeInto(LibraryManager.library, {
  $MC__postset: 'Module["mc"] = MC;',
  $MC__deps: ["malloc", "free", "$mcOut", "$mcWithText", "$mcEncoder", "$mcSendBuf", "$mcSendSize", "$mcPendingSend"],
  $MC: {
    // --- set by the JS layer
    /** The core's events, by channel handle (js/core-bridge.ts installs it). */
    events: null,
    /** (url, protocols, owner) => a WebSocket (js/socket-factory.ts installs it). */
    createSocket: null,
    /** Why the socket factory could not make the last socket (a string), or null. */
    createError: null,

    // --- the send path: the text is encoded into a buffer of its own (never the receive
    // scratch, which a send from inside a message listener would overwrite) and the original
    // string is kept, so the socket sends it as is instead of a decoded copy.
    // `direct`: false on a reliable channel, whose text the core must tag: one crossing, not a
    // refused direct attempt first.
    sendText: (channel, text, direct) => {
      var capacity = text.length * 3;
      var outer = mcPendingSend;
      // The fast path: open, nothing queued, not reliable: the socket sends `text` as is
      // (pointer 0 stands for it) and it never enters the heap.
      mcPendingSend = { ptr: 0, text: text };
      try {
        if (direct && _mc_channel_send_direct(channel, capacity)) return 0;
        if (capacity > mcSendSize) {
          if (mcSendBuf) _free(mcSendBuf);
          mcSendSize = Math.max(capacity, 2 * mcSendSize, 1024);
          mcSendBuf = _malloc(mcSendSize);
        }
        const n = mcEncoder.encodeInto(text, HEAPU8.subarray(mcSendBuf, mcSendBuf + capacity)).written;
        mcPendingSend.ptr = mcSendBuf;
        return _mc_channel_send_text(channel, mcSendBuf, n);
      } finally {
        mcPendingSend = outer;
      }
    },
    sendBinary: (channel, bytes) => {
      var p = _malloc(bytes.length || 1);
      try {
        HEAPU8.set(bytes, p);
        return _mc_channel_send_binary(channel, p, bytes.length);
      } finally {
        _free(p);
      }
    },

    // --- calls that take or return text (the others are `_mc_channel_*` exports, called directly)
    /**
     * Makes a channel (mc_channel_create) from `values`: every option in the order of the
     * option lists (src/metachannel/vocabulary.h; js/vocabulary.ts's WIRE_ORDER), a number, a
     * boolean or a string each. One heap block: an f64 slot per option (a boolean as 0 or 1, a
     * string as its UTF-8 byte count), then the strings' bytes.
     */
    createChannel: (handle, values) => {
      var count = values.length;
      var capacity = 8 * count;
      var i, v;
      for (i = 0; i < count; i++) if (typeof values[i] === "string") capacity += values[i].length * 3;
      var p = _malloc(capacity);
      var at = p + 8 * count;
      try {
        for (i = 0; i < count; i++) {
          v = values[i];
          if (typeof v === "string") {
            v = mcEncoder.encodeInto(v, HEAPU8.subarray(at, p + capacity)).written;
            at += v;
          }
          HEAPF64[(p >> 3) + i] = v;
        }
        return _mc_channel_create(handle, p);
      } finally {
        _free(p);
      }
    },
    // renew: the same URL with another end-to-end key (a new socket; reliable streams start over).
    setUrl: (channel, url, renew) => {
      return mcWithText(url, (p, n) => {
        return _mc_channel_set_url(channel, p, n, renew ? 1 : 0);
      });
    },
    close: (channel, code, reason) => {
      return mcWithText(reason, (p, n) => {
        return _mc_channel_close(channel, code, p, n);
      });
    },
    setPresence: (channel, json) => {
      return mcWithText(json, (p, n) => {
        return _mc_channel_set_presence(channel, p, n);
      });
    },
    fieldSlot: (channel, name) => {
      return mcWithText(name, (p, n) => {
        return _mc_channel_field_slot(channel, p, n);
      });
    },
    route: (channel, slot, value, delta) => {
      mcWithText(value, (p, n) => {
        _mc_channel_route(channel, slot, p, n, delta);
      });
    },
    url: (channel) => {
      return mcOut(_mc_channel_url(channel));
    },
    id: (channel) => {
      return mcOut(_mc_channel_id(channel));
    },
    lastError: (channel) => {
      return mcOut(_mc_channel_last_error(channel));
    },
    reliableStats: (channel) => {
      return mcOut(_mc_channel_reliable_stats(channel));
    },
    memoryBytes: () => {
      return HEAPU8.length;
    },
  },

  // --- sockets
  /** The handle of the channel whose transport is opening a socket right now. */
  $mcSocketOwner: 0,
  /** The socket the factory made last, until its transport adopts it by websocket.h's id. */
  $mcLastSocket: "=null",
  /** websocket.h id -> socket, for the sockets a transport adopted. */
  $mcSockets: "={}",

  // --- text in and out of the heap (decoding with the runtime's UTF8Decoder, TEXTDECODER=2)
  $mcEncoder: "=new TextEncoder()",
  /** Text from the heap by pointer and length. */
  $mcDecode: function (ptr, size) {
    return size ? UTF8Decoder.decode(HEAPU8.subarray(ptr, ptr + size)) : "";
  },
  /**
   * A reliable sender's id from the heap (1-64 of [A-Za-z0-9_-], checked by the core: ASCII),
   * without TextDecoder; the last one is kept, as consecutive frames mostly share a sender.
   */
  $mcLastSender: '=""',
  $mcSender__deps: ["$mcLastSender"],
  $mcSender: function (ptr, size) {
    var last = mcLastSender;
    var i = 0;
    if (last.length === size) {
      while (i < size && HEAPU8[ptr + i] === last.charCodeAt(i)) i++;
      if (i === size) return last;
    }
    mcLastSender = String.fromCharCode.apply(null, HEAPU8.subarray(ptr, ptr + size));
    return mcLastSender;
  },
  /** The string the last `_mc_out_*` call left in the core's out buffer. */
  $mcOut__deps: ["$mcDecode"],
  $mcOut: function (ptr) {
    return mcDecode(ptr, _mc_out_size());
  },
  /** Calls fn(ptr, length) with `text` as UTF-8 in a heap block of its own (re-entrancy safe). */
  $mcWithText__deps: ["$mcEncoder", "malloc", "free"],
  $mcWithText: function (text, fn) {
    var capacity = text.length * 3 + 1;
    var p = _malloc(capacity);
    try {
      return fn(p, mcEncoder.encodeInto(text, HEAPU8.subarray(p, p + capacity)).written);
    } finally {
      _free(p);
    }
  },

  // --- the receive path: one reusable heap buffer for incoming frames
  $mcScratch: 0,
  $mcScratchSize: 0,
  /** A view of the whole buffer, kept until the buffer or the heap (growth) changes. */
  $mcScratchView: "=null",
  $mcScratchFor__deps: ["$mcScratch", "$mcScratchSize", "$mcScratchView", "malloc", "free"],
  $mcScratchFor: function (size) {
    if (size > mcScratchSize) {
      if (mcScratch) _free(mcScratch);
      mcScratchSize = Math.max(size, 2 * mcScratchSize, 4096);
      mcScratch = _malloc(mcScratchSize);
      mcScratchView = null;
    }
    if (mcScratchView === null || mcScratchView.buffer !== HEAPU8.buffer) {
      mcScratchView = HEAPU8.subarray(mcScratch, mcScratch + mcScratchSize);
    }
    return mcScratch;
  },
  /** The text frame being delivered right now: handed to listeners as is, never decoded back. */
  $mcLastText: "=null",
  /**
   * The core's receive plans (ReceivePlan in src/metachannel/transport.h), by transport, for
   * text frames within the size limit: {route, wanted: null} routes every frame with
   * `route` (0: drops it), for the JS layer's own parse; {route: 0, wanted} drops a frame
   * `wanted` does not match (it could not match the router). No
   * entry: the core reads every frame. The core replaces an entry on every change of state or
   * interest.
   */
  $mcPlans: "=new Map()",
  /**
   * The prefilter's test: a backslash or one of the needles (the core's NUL-separated list),
   * as one regular expression (one pass over the frame; two String.includes calls took 40%
   * longer on a 120-byte frame in Node 22).
   */
  $mcWantedTest: function (needles) {
    const parts = ["\\\\"];
    for (const needle of needles) if (needle) parts.push(needle.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&"));
    return new RegExp(parts.join("|"));
  },

  // --- the send path (MC.sendText): its buffer, and the frame being sent right now
  $mcSendBuf: 0,
  $mcSendSize: 0,
  $mcPendingSend: "=null",

  // websocket.h creates sockets with `new WebSocket(url, protocols)`. This module-scope
  // function shadows the global class inside the module, so each socket is made by the
  // channel's own factory (js/socket-factory.ts): its WebSocket class (options.WebSocket, the
  // global one, or the `ws` package) and headers apply, and a constructor that throws never
  // throws through wasm.
  $WebSocket__deps: ["$MC", "$mcSocketOwner", "$mcLastSocket"],
  $WebSocket: function (url, protocols) {
    var socket = MC.createSocket(url, protocols, mcSocketOwner);
    mcLastSocket = socket;
    return socket;
  },

  // ------------------------------------------------------------------ events out of the core
  mc_emit_state__deps: ["$MC"],
  mc_emit_state: function (h, from, to) {
    MC.events.state(h, from, to);
  },
  mc_emit_open__deps: ["$MC", "$mcDecode"],
  mc_emit_open: function (h, p, n) {
    MC.events.open(h, mcDecode(p, n));
  },
  // The hot path. `current`: the frame is the one being received (its original string is in
  // mcLastText); 0 for a reliable frame that waited for a gap, decoded from the heap.
  // `from`/`seq`: the sender and sequence number the core read in a reliable frame's tag
  // (route bit SEQ; "" and 0 otherwise): JS never parses the tag again.
  mc_emit_text__deps: ["$MC", "$mcDecode", "$mcLastText", "$mcSender"],
  mc_emit_text: function (h, p, n, route, current, from, fromN, seq) {
    var text = current && mcLastText !== null ? mcLastText : mcDecode(p, n);
    MC.events.text(h, text, route, fromN ? mcSender(from, fromN) : "", seq);
  },
  mc_emit_binary__deps: ["$MC"],
  mc_emit_binary: function (h, p, n, route) {
    MC.events.binary(h, HEAPU8.slice(p, p + n), route);
  },
  mc_emit_close__deps: ["$MC", "$mcDecode"],
  mc_emit_close: function (h, code, p, n, clean, again) {
    MC.events.close(h, code, mcDecode(p, n), !!clean, !!again);
  },
  mc_emit_error__deps: ["$MC", "$mcDecode"],
  mc_emit_error: function (h, code, p, n, detail) {
    MC.events.error(h, code, mcDecode(p, n), detail);
  },
  mc_emit_reconnecting__deps: ["$MC"],
  mc_emit_reconnecting: function (h, attempt, delay) {
    MC.events.reconnecting(h, attempt, delay);
  },
  mc_emit_lost__deps: ["$MC", "$mcDecode"],
  mc_emit_lost: function (h, f, fn, count, p, n) {
    MC.events.lost(h, mcDecode(f, fn), count, mcDecode(p, n));
  },
  mc_emit_presence__deps: ["$MC", "$mcDecode"],
  mc_emit_presence: function (h, p, n) {
    MC.events.presence(h, mcDecode(p, n));
  },

  // ------------------------------------------------------------------ sockets
  // Whose options apply to the next socket (the transport calls this before websocket.h's new).
  mc_socket_owner__deps: ["$mcSocketOwner", "$mcLastSocket", "$WebSocket"],
  mc_socket_owner: function (owner) {
    mcSocketOwner = owner;
    mcLastSocket = null;
  },

  // Why the factory could not make the last socket, as a malloc'd string (the caller frees
  // it), or 0 when it could.
  mc_socket_take_create_error__deps: ["$MC"],
  mc_socket_take_create_error: function () {
    var why = MC.createError;
    if (!why) return 0;
    MC.createError = null;
    var size = lengthBytesUTF8(why) + 1;
    var p = _malloc(size);
    stringToUTF8(why, p, size);
    return p;
  },

  // The core's receive plan for a transport (Channel::update_receive; `$mcPlans` above). mode:
  // ReceivePlan::Mode (0 Read, 1 Route, 2 Prefilter).
  mc_transport_plan__deps: ["$mcDecode", "$mcPlans", "$mcWantedTest"],
  mc_transport_plan: function (transport, mode, route, p, n) {
    if (mode === 0) mcPlans.delete(transport);
    else mcPlans.set(transport, { route: route, wanted: mode === 2 ? mcWantedTest(n ? mcDecode(p, n).split("\0") : []) : null });
  },

  // The transport takes the socket websocket.h just created (id) and receives its frames here
  // (websocket.h's own message handler is never registered: it mallocs a buffer per frame and
  // encodes text with a JS loop). Text is encoded with TextEncoder.encodeInto into one reusable
  // buffer and its original string kept for the JS layer; a frame over the size limit is
  // reported by size without entering the heap (which would grow for good).
  mc_socket_adopt__deps: ["$MC", "$mcLastSocket", "$mcSockets", "$mcLastText", "$mcPlans", "$mcScratchFor", "$mcScratchView", "$mcEncoder"],
  mc_socket_adopt: function (id, transport, maxBytes, owner) {
    const s = mcLastSocket;
    mcLastSocket = null;
    if (!s) return;
    mcSockets[id] = s;
    s.onmessage = (e) => {
      const data = e.data;
      if (typeof data === "string") {
        if (data.length > maxBytes) return _mc_transport_oversize(transport, 1, data.length);
        // The core's plan (`$mcPlans`), for a frame surely within the limit (ASCII is a byte a
        // unit, other text up to 3): the frame is routed or dropped here, without entering wasm.
        const plan = mcPlans.get(transport);
        if (plan !== undefined && data.length * 3 <= maxBytes) {
          if (plan.wanted === null) {
            // The fast path: the core reads nothing in the frame; js/receive.ts routes it by
            // its own JSON.parse (route bit UNSCANNED; routeUnscanned there is the one place).
            if (plan.route !== 0) MC.events.text(owner, data, plan.route, "", 0);
            return;
          }
          // The prefilter: none of the wanted values (and no escape) is in the frame.
          if (!plan.wanted.test(data)) return;
        }
        mcLastText = data;
        try {
          // ASCII (the usual envelope) fits in data.length bytes; other text needs up to 3 a unit.
          let p = mcScratchFor(data.length);
          let r = mcEncoder.encodeInto(data, mcScratchView);
          if (r.read !== data.length) {
            p = mcScratchFor(data.length * 3);
            r = mcEncoder.encodeInto(data, mcScratchView);
          }
          _mc_transport_frame(transport, 1, p, r.written);
        } finally {
          mcLastText = null;
        }
      } else {
        const bytes = new Uint8Array(data);
        if (bytes.length > maxBytes) return _mc_transport_oversize(transport, 0, bytes.length);
        const q = mcScratchFor(bytes.length);
        HEAPU8.set(bytes, q);
        _mc_transport_frame(transport, 0, q, bytes.length);
      }
    };
  },

  // websocket.h only sends NUL-terminated text; this sends by length, and never on a socket
  // that is not OPEN (a send while CONNECTING throws InvalidStateError through wasm).
  mc_socket_send_text__deps: ["$mcSockets", "$mcDecode", "$mcPendingSend"],
  mc_socket_send_text: function (id, data, size) {
    var s = mcSockets[id];
    if (!s || s.readyState !== 1) return 0;
    const pending = mcPendingSend;
    // The frame JS is sending right now: send its original string, not a decoded copy.
    s.send(pending && pending.ptr === data ? pending.text : mcDecode(data, size));
    return 1;
  },
  mc_socket_ready_state__deps: ["$mcSockets"],
  mc_socket_ready_state: function (id) {
    var s = mcSockets[id];
    return s ? s.readyState : 3;
  },
  // The HTTP status a refused upgrade got instead of 101 (js/socket-factory.ts records it from
  // the `ws` package's error), or 0: browsers and undici never tell.
  mc_socket_refused_status__deps: ["$mcSockets"],
  mc_socket_refused_status: function (id) {
    var s = mcSockets[id];
    return (s && s.refusedStatus) | 0;
  },
  mc_socket_buffered_amount__deps: ["$mcSockets"],
  mc_socket_buffered_amount: function (id) {
    var s = mcSockets[id];
    return s ? s.bufferedAmount || 0 : 0;
  },
  // Numbers' text both ways for bindings/libc_wraps.cpp: n > 0, the number the n bytes at p
  // spell (strtod's conversion: a decimal number's sign, digits, fraction and exponent, ASCII),
  // by Number(), which rounds correctly; n = 0, x (a finite double >= 0) as JavaScript writes it
  // (the shortest text that reads back as the same double, ASCII, at most 23 characters),
  // written at p, and its length (mc_double_chars).
  mc_number__deps: ["$mcDecode"],
  mc_number: function (x, p, n) {
    if (n) return Number(mcDecode(p, n));
    var s = String(x);
    var i = 0;
    for (; i < s.length; i++) HEAPU8[p + i] = s.charCodeAt(i);
    return i;
  },
  // After emscripten_websocket_delete: forgets the socket here, and frees websocket.h's slot,
  // which 3.1.6's emscripten_websocket_delete leaks (it deletes WS.sockets[socket], not
  // [socketId]); in releases that delete the slot themselves this finds nothing to do.
  mc_socket_forget__deps: ["$mcSockets", "$WS"],
  mc_socket_forget: function (id) {
    var s = mcSockets[id];
    if (s) s.onmessage = null;
    delete mcSockets[id];
    if (WS.sockets[id]) delete WS.sockets[id];
  },
});
