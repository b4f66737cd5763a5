// The board's entry module: each part wires itself to the elements it finds.

import { initAuth } from "./auth.js";
import { initChat } from "./chat.js";
import { initDrawer } from "./drawer.js";
import { initFit } from "./fit.js";
import { refreshTimes } from "./format.js";
import { initLive } from "./live.js";
import { initProviders } from "./providers.js";
import { foldFiltersOnPhones, initTable } from "./table.js";

const TIME_REFRESH_MS = 15000;

if (document.querySelector("[data-results]")) {
  foldFiltersOnPhones();
  initTable();
  initDrawer();
  initFit();
  initAuth();
  initChat();
  initProviders();
  initLive();
}
setInterval(() => refreshTimes(), TIME_REFRESH_MS);
