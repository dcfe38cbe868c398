// Several components use the same channel through useChannel (one socket per tab), each
// showing the chat messages (useMessages, useMessage), the other tabs (usePresence) and the
// state. Every component's view is in data-* attributes for the harness.
import { Suspense, useEffect, useState } from "react";
import { useChannel, useMessage, useMessages, usePresence } from "metachannel/react";

/** Edited by the harness under the dev server (fast refresh must keep the socket). */
const EDIT = "v1";

type AppMessage = { type: "chat"; text: string; from: string } | { type: "progress"; value: number };

declare global {
  interface Window {
    app?: { setCount(n: number): void; send(text: string): void; suspend(): void; resume(): void };
  }
}

function Peer({ url, name, index }: { url: string; name: string; index: number }) {
  const { channel, state, error, send } = useChannel<AppMessage>(url, { presence: { state: { name } } });
  const chats = useMessages(channel, "chat", { last: 50 });
  const last = useMessage(channel, "chat");
  const peers = usePresence(channel);
  useEffect(() => {
    if (index !== 0 || !window.app) return;
    window.app.send = (text: string) => send({ type: "chat", text, from: name });
  }, [index, send, name]);
  const names = [...peers.values()].map((p) => (p as { name?: string } | null)?.name ?? "?").sort();
  return (
    <li
      className="peer"
      data-state={state}
      data-error={error?.code ?? ""}
      data-chats={JSON.stringify(chats.map((m) => `${m.from}:${m.text}`))}
      data-last={last ? last.text : ""}
      data-peers={JSON.stringify(names)}
    >
      {state} {last?.text} ({names.join(", ")})
    </li>
  );
}

/** Suspends (throws its promise) until the promise has settled: a data fetch, as Suspense sees it. */
const settled = new WeakSet<Promise<void>>();
function Suspender({ until }: { until: Promise<void> }) {
  if (!settled.has(until)) {
    throw until.then(() => {
      settled.add(until);
    });
  }
  return null;
}

export function App({ url, name }: { url: string; name: string }) {
  const [count, setCount] = useState(3);
  const [pending, setPending] = useState<Promise<void> | null>(null);
  if (!window.app) {
    window.app = {
      setCount: () => {},
      send: () => {
        throw new Error("no component uses the channel");
      },
      suspend: () => {},
      resume: () => {},
    };
  }
  const app = window.app;
  app.setCount = setCount;
  app.suspend = () => {
    let release = () => {};
    const until = new Promise<void>((resolve) => {
      release = resolve;
    });
    app.resume = release;
    setPending(until);
  };
  return (
    <Suspense fallback={<p id="fallback">suspended</p>}>
      <ul data-count={count} data-edit={EDIT}>
        {Array.from({ length: count }, (_, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: the components are interchangeable
          <Peer key={i} url={url} name={name} index={i} />
        ))}
      </ul>
      {pending && <Suspender until={pending} />}
    </Suspense>
  );
}
