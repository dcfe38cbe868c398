// Progress metaframe: the long job streamed by the Node worker,
// {type:"progress", job, value (0..1), message}: a bar for the current job and a log.
(async function () {
  "use strict";
  const { el } = window.DemoFrame;
  const $ = (id) => document.getElementById(id);
  const log = $("log");
  const jobs = new Map(); // job -> { started, lastValue }
  let finished = 0;
  let updates = 0;
  const recent = []; // timestamps of the last updates, for the rate

  const clock = (t) => new Date(t).toLocaleTimeString([], { hour12: false });

  function addLog(p, done) {
    const atBottom = log.scrollHeight - log.scrollTop - log.clientHeight < 30;
    const li = el("li", done ? "done" : p.value === 0 ? "start" : "");
    li.append(
      el("span", "t", clock(Date.now())),
      el("span", "j", p.job),
      el("span", "v", `${Math.round(p.value * 100)}%`.padStart(4, "\u2007")),
      el("span", "m", String(p.message || "")),
    );
    log.append(li);
    while (log.children.length > 250) log.firstChild.remove();
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  function onProgress(p) {
    if (!p || typeof p.job !== "string" || typeof p.value !== "number") return;
    const value = Math.max(0, Math.min(1, p.value));
    const now = Date.now();
    let job = jobs.get(p.job);
    if (!job) {
      job = { started: now, done: false };
      jobs.set(p.job, job);
      if (jobs.size > 50) jobs.delete(jobs.keys().next().value);
    }
    const done = value >= 1 && !job.done;
    if (done) {
      job.done = true;
      finished++;
    }
    updates++;
    recent.push(now);
    while (recent.length && now - recent[0] > 5000) recent.shift();

    $("job-name").textContent = p.job;
    $("percent").textContent = `${Math.floor(value * 100)}%`;
    $("fill").style.width = `${(value * 100).toFixed(1)}%`;
    $("fill").classList.toggle("complete", value >= 1);
    $("message").textContent = p.message || "";
    const elapsed = (now - job.started) / 1000;
    $("eta").textContent =
      value >= 1 ? "complete" : value > 0.02 && elapsed > 1 ? `about ${Math.max(1, Math.round((elapsed / value) * (1 - value)))} s left` : "";
    $("done").textContent = String(finished);
    $("updates").textContent = updates.toLocaleString();
    $("rate").textContent = (recent.length / 5).toFixed(1);
    addLog(Object.assign({}, p, { value }), done);
  }

  const { channel, received } = await window.DemoFrame.startFrame();
  channel.onMessage("progress", (p) => {
    received();
    onProgress(p);
  });
})();
