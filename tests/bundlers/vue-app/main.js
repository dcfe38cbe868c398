// Creates a channel on the dev relay (?relay=…) and mounts the app with its URL.
import { createApp } from "vue";
import App from "./App.vue";

const relay = new URLSearchParams(location.search).get("relay");
const res = await fetch(`${relay}/api/channels`, { method: "POST" });
const { url } = await res.json();
createApp(App, { url }).mount("#app");
