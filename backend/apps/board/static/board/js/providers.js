// The provider strip: refreshed from GET /api/v2/providers/status every minute (last
// successful sync, circuit breaker state, listed offer count).

import { refreshTimes } from "./format.js";

const REFRESH_MS = 60000;

async function refreshStrip() {
  const response = await fetch("/api/v2/providers/status");
  if (!response.ok) return;
  for (const provider of await response.json()) {
    const item = document.querySelector(`[data-providers] [data-provider="${CSS.escape(provider.name)}"]`);
    if (!item) continue;
    item.dataset.breaker = provider.breaker_state;
    item.dataset.stale = String(provider.stale);
    item.querySelector("[data-breaker-label]").textContent = `breaker ${provider.breaker_state.replace("_", "")}`;
    item.querySelector("[data-offer-count]").textContent = String(provider.listed_offer_count);
    const time = item.querySelector("time[data-last-success]");
    if (provider.last_success_at) time.setAttribute("datetime", provider.last_success_at);
  }
  refreshTimes(document.querySelector("[data-providers]"));
}

export function initProviders() {
  if (!document.querySelector("[data-providers]")) return;
  setInterval(() => refreshStrip().catch(() => {}), REFRESH_MS);
}
