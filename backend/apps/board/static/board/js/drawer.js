// The offer drawer: a <dialog> holding /board/offers/<id> (specs, history chart, KPI working,
// booking). Rows link to /offers/<id>, the same content as a page, so a new tab or no script
// still works.

import { apiFetch, errorMessage, fragment, tokens } from "./api.js";
import { refreshTimes, usd } from "./format.js";
import { integrations } from "./auth.js";

const dialog = () => document.querySelector("[data-drawer]");
const body = () => document.querySelector("[data-drawer-body]");

async function loadHistory(offerId, window) {
  const section = body().querySelector("[data-history]");
  if (!section) return;
  section.setAttribute("aria-busy", "true");
  const loaded = await fragment(`/board/offers/${encodeURIComponent(offerId)}?history=1&window=${encodeURIComponent(window)}`);
  if (loaded) section.replaceChildren(loaded.content);
  section.removeAttribute("aria-busy");
}

/** Show or hide the booking form for the open offer: logged in and an integration for it. */
export function updateBooking() {
  const booking = body()?.querySelector("[data-booking]");
  if (!booking) return;
  const provider = booking.dataset.provider;
  const form = booking.querySelector("[data-book-form]");
  const hint = booking.querySelector("[data-booking-hint]");
  const loggedIn = Boolean(tokens()?.access_token);
  const canBook = loggedIn && integrations().has(provider);
  form.hidden = !canBook;
  hint.hidden = canBook;
  if (!loggedIn) hint.textContent = `Log in to book: booking uses your team's ${provider} integration.`;
  else if (!canBook) hint.textContent = `Your team has no working ${provider} integration yet (POST /api/v2/config/integrations), so this offer cannot be booked from here.`;
}

async function book(form) {
  const detail = form.closest("[data-offer-detail]");
  const result = detail.querySelector("[data-book-result]");
  const hours = Number(new FormData(form).get("duration_hours"));
  result.textContent = "Booking…";
  const response = await apiFetch(`/api/v2/providers/offers/${encodeURIComponent(detail.dataset.offerId)}/book`, {
    method: "POST",
    body: JSON.stringify({ duration_hours: hours }),
  });
  if (!response.ok) {
    result.textContent = `Not booked: ${await errorMessage(response)}`;
    return;
  }
  const outcome = await response.json();
  const cost = Number.isFinite(outcome.estimated_cost) ? `, estimated ${usd(outcome.estimated_cost)}` : "";
  result.textContent = `${outcome.message} (booking ${outcome.booking_id}, ${outcome.status}${cost})`;
}

/** Open the drawer for an offer. */
export async function openDrawer(offerId, opener = null) {
  const drawer = dialog();
  if (!drawer) return;
  drawer.returnFocus = opener;
  body().replaceChildren();
  body().setAttribute("aria-busy", "true");
  if (!drawer.open) drawer.showModal();
  const loaded = await fragment(`/board/offers/${encodeURIComponent(offerId)}`);
  if (loaded) body().replaceChildren(loaded.content);
  body().removeAttribute("aria-busy");
  refreshTimes(body());
  updateBooking();
  drawer.querySelector("[data-drawer-close]")?.focus();
}

export function initDrawer() {
  const drawer = dialog();
  if (!drawer) return;
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-offer-link]");
    if (link && event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey) {
      event.preventDefault();
      openDrawer(link.closest("tr").dataset.offerId, link);
      return;
    }
    const window = event.target.closest("[data-drawer] a[data-window]");
    if (window) {
      event.preventDefault();
      const detail = window.closest("[data-offer-detail]");
      loadHistory(detail.dataset.offerId, window.dataset.window);
    }
  });
  drawer.querySelector("[data-drawer-close]").addEventListener("click", () => drawer.close());
  // A click on the backdrop (outside the panel) closes it too.
  drawer.addEventListener("click", (event) => {
    if (event.target === drawer) drawer.close();
  });
  drawer.addEventListener("close", () => drawer.returnFocus?.focus?.());
  drawer.addEventListener("submit", (event) => {
    const form = event.target.closest("[data-book-form]");
    if (!form) return;
    event.preventDefault();
    book(form);
  });
  document.addEventListener("board:auth", updateBooking);
  document.addEventListener("board:integrations", updateBooking);
}
