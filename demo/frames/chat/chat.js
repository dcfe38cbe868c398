// Chat metaframe: rooms over the metapage's channel.
// Wire: {type:"join"|"leave", username, room}, {type:"message", username, room, text}.
// The package's ChatClient over the frame's bound Channel.
(async function () {
  "use strict";
  const { el } = window.DemoFrame;
  const ROOMS = ["general", "jobs", "random"];
  const NAMES = ["ada", "grace", "linus", "margaret", "alan", "barbara", "edsger", "radia"];
  const params = new URLSearchParams(location.search);
  const username = params.get("user") || NAMES[Math.floor(Math.random() * NAMES.length)];

  const $ = (sel) => document.querySelector(sel);
  const list = $("#messages");
  const input = $("#compose input");
  const sendButton = $("#compose button");
  $("#me").textContent = username;

  const rooms = new Map(ROOMS.map((name) => [name, { name, joined: false, messages: [], unread: 0, members: new Set() }]));
  let active = "general";

  // --- rendering -------------------------------------------------------------------------------
  function colorFor(name) {
    let h = 0;
    for (const c of String(name)) h = (h * 31 + c.charCodeAt(0)) % 360;
    return `hsl(${h} 62% 46%)`;
  }
  const time = (t) => new Date(t).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });

  function renderRooms() {
    const ul = $("#room-list");
    ul.replaceChildren();
    for (const r of rooms.values()) {
      const li = el("li", [r.name === active ? "active" : "", r.joined ? "joined" : ""].join(" ").trim());
      li.append(el("span", "hash", "#"), el("span", "name", r.name));
      if (r.unread) li.append(el("span", "badge", String(r.unread)));
      else if (!r.joined) li.append(el("span", "join", "join"));
      li.addEventListener("click", () => openRoom(r.name));
      ul.append(li);
    }
  }

  /** Lines from the same person within two minutes share one avatar and name. */
  function continues(prev, m) {
    return prev && prev.type === "message" && m.type === "message" && prev.username === m.username && m.at - prev.at < 120000;
  }

  function renderMessage(m, prev) {
    if (m.type === "switch") return el("li", "divider", "URL rotated · reconnected");
    if (m.type !== "message") {
      return el("li", "event", `${m.username} ${m.type === "join" ? "joined" : "left"} #${m.room}`);
    }
    const li = el("li", `msg${m.username === username ? " mine" : ""}${m.username === "worker-bot" ? " bot" : ""}${continues(prev, m) ? " cont" : ""}`);
    const avatar = el("span", "avatar", String(m.username).slice(0, 1).toUpperCase());
    avatar.style.background = colorFor(m.username);
    const body = el("div", "body");
    const head = el("div", "head");
    head.append(el("strong", "who", m.username), el("span", "when", time(m.at)));
    if (m.username === "worker-bot") head.append(el("span", "tag", "worker"));
    body.append(head, el("div", "text", String(m.text)));
    li.append(avatar, body);
    return li;
  }

  function renderRoom() {
    const r = rooms.get(active);
    $("#room-name").textContent = r.name;
    $("#room-members").textContent = r.joined ? `· ${r.members.size} ${r.members.size === 1 ? "member" : "members"}` : "";
    $("#leave").textContent = r.joined ? "Leave" : "Join";
    input.placeholder = r.joined ? `Message #${r.name}` : `Join #${r.name} to write`;
    input.disabled = sendButton.disabled = !r.joined || !chat;
    list.replaceChildren(...r.messages.map((m, i) => renderMessage(m, r.messages[i - 1])));
    if (!r.messages.length) list.append(el("li", "empty", r.joined ? "No messages yet. Say hello!" : "You are not in this room."));
    list.scrollTop = list.scrollHeight;
  }

  function add(m) {
    const r = rooms.get(m.room);
    if (!r?.joined) return;
    m = Object.assign({ at: Date.now() }, m);
    if (m.type === "leave") r.members.delete(m.username);
    else if (m.username) r.members.add(m.username);
    // A join we already know about is not news (joins are re-sent after reconnects).
    if (m.type === "join" && r.messages.some((x) => x.type === "join" && x.username === m.username)) return renderRoomsLater();
    r.messages.push(m);
    if (r.messages.length > 300) r.messages.shift();
    if (m.room === active) {
      const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
      const empty = list.querySelector(".empty");
      if (empty) empty.remove();
      list.append(renderMessage(m, r.messages[r.messages.length - 2]));
      if (atBottom || m.username === username) list.scrollTop = list.scrollHeight;
      $("#room-members").textContent = `· ${r.members.size} ${r.members.size === 1 ? "member" : "members"}`;
    } else if (m.type === "message") {
      r.unread++;
      renderRoomsLater();
    }
  }
  let roomsTimer = null;
  function renderRoomsLater() {
    roomsTimer =
      roomsTimer ||
      setTimeout(() => {
        roomsTimer = null;
        renderRooms();
      }, 50);
  }

  function join(name) {
    const r = rooms.get(name);
    if (r.joined) return;
    r.joined = true;
    r.members.add(username);
    chat.joinRoom(name);
  }
  function leave(name) {
    const r = rooms.get(name);
    if (!r.joined) return;
    chat.leaveRoom(name);
    r.joined = false;
    r.messages = [];
    r.members.clear();
    r.unread = 0;
  }
  function openRoom(name) {
    active = name;
    if (chat) join(name);
    rooms.get(name).unread = 0;
    renderRooms();
    renderRoom();
  }

  $("#leave").addEventListener("click", () => {
    if (!chat) return;
    if (rooms.get(active).joined) leave(active);
    else join(active);
    renderRooms();
    renderRoom();
  });
  $("#compose").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || !chat || !rooms.get(active).joined) return;
    chat.sendMessage(text, active); // shown when the relay echoes it back
    input.value = "";
  });

  // --- start -----------------------------------------------------------------------------------
  let chat = null;
  renderRooms();
  renderRoom();
  const { channel, MC, received, status } = await window.DemoFrame.startFrame();
  // ChatClient over the frame's shared Channel: it sends the joins on every open (so a frame
  // that switched to a rotated URL is back in its rooms) and routes by room in the core.
  chat = new MC.ChatClient(channel, username, { rooms: [] });
  chat.connect().catch(() => {}); // resolves at the first open; rooms joined below go out then
  chat.on("message", (m) => {
    received();
    add(m);
  });
  chat.on("join", (m) => add(Object.assign({ type: "join" }, m)));
  chat.on("leave", (m) => add(Object.assign({ type: "leave" }, m)));
  join("general");
  join("jobs");
  // Mark the moment the frame moved to a rotated URL (the old one was revoked).
  let generation = status.generation;
  channel.on("open", () => {
    const rotated = generation >= 0 && status.generation > generation;
    generation = status.generation;
    if (!rotated) return;
    for (const r of rooms.values()) if (r.joined) add({ type: "switch", room: r.name, username: "" });
  });
  renderRooms();
  renderRoom();
})();
