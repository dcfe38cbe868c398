// A React app as its users write it: StrictMode, createRoot, strict TypeScript. The channel
// URL and this tab's name come in the query (?channel=…&name=…); the harness drives the app
// through window.app (how many components use the channel, send a chat).
import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { App } from "./App";

const params = new URLSearchParams(location.search);
const url = params.get("channel");
const name = params.get("name") ?? "tab";
const root = document.getElementById("root");
if (!url || !root) throw new Error("?channel= and #root are needed");
createRoot(root).render(
  <StrictMode>
    <App url={url} name={name} />
  </StrictMode>,
);
