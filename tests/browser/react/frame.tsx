// A React metaframe (StrictMode, development build): two components use the frame's own
// channel through useMetaframeChannel (the URL arrives as the metapage input
// _websocket_url_). Bundled by tests/browser/react-metaframe.test.js with esbuild; its view
// is in data-* attributes, and window.send(text) sends a chat.
import { StrictMode, useEffect } from "react";
import { createRoot } from "react-dom/client";
import { useMessages, useMetaframeChannel, usePresence } from "metachannel/react";

type AppMessage = { type: "chat"; from: string; text: string };

declare global {
  interface Window {
    send?: (text: string) => void;
  }
}

function View({ index }: { index: number }) {
  const { channel, state, send } = useMetaframeChannel<AppMessage>({ presence: { state: { frame: window.name } } });
  const chats = useMessages(channel, "chat");
  const others = usePresence(channel);
  useEffect(() => {
    if (index === 0) window.send = (text) => send({ type: "chat", from: window.name, text });
  }, [index, send]);
  return (
    <li className="view" data-state={state} data-url={channel?.url ?? ""} data-chats={JSON.stringify(chats.map((m) => `${m.from}:${m.text}`))} data-others={others.size}>
      {state}: {chats.map((m) => m.text).join(", ")}
    </li>
  );
}

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <ul>
        <View index={0} />
        <View index={1} />
      </ul>
    </StrictMode>,
  );
}
