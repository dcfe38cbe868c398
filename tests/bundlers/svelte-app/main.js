// Creates a channel on the dev relay (?relay=…) and mounts the app with its URL.
import { mount } from "svelte";
import App from "./App.svelte";

const relay = new URLSearchParams(location.search).get("relay");
const res = await fetch(`${relay}/api/channels`, { method: "POST" });
const { url } = await res.json();
mount(App, { target: document.getElementById("app"), props: { url } });
