// The results table: filters, sorting and pages without reloading the page.
//
// The URL is the state: every change builds the next URL from the current one, fetches the
// server-rendered results for it (/board/table?<query>) and pushes it onto history, so a view
// can be bookmarked and Back/Forward restore it. Without scripts the same forms and links work
// as plain GET navigation.

import { fragment } from "./api.js";
import { refreshTimes } from "./format.js";

const results = () => document.querySelector("[data-results]");
let controller = null;

/** The listing parameters of the current URL. */
export function currentParams() {
  return new URLSearchParams(location.search);
}

/** The names a form owns: its named controls, except the hidden ones that only carry state. */
function ownedNames(form) {
  const names = new Set();
  for (const element of form.elements) {
    if (element.name && !element.hasAttribute("data-keep")) names.add(element.name);
  }
  return names;
}

/** The next URL when `form` is submitted: the current URL with the form's own fields replaced. */
export function urlFromForm(form, extra = {}) {
  const params = currentParams();
  for (const name of ownedNames(form)) params.delete(name);
  for (const [name, value] of new FormData(form)) {
    const element = form.elements.namedItem(name);
    if (element?.hasAttribute?.("data-keep")) continue;
    const text = String(value).trim();
    if (text !== "") params.set(name, text);
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === null || value === "") params.delete(name);
    else params.set(name, value);
  }
  params.delete("page");
  if (params.get("per_page") === "20") params.delete("per_page");
  return params.toString() ? `/?${params}` : "/";
}

/** Put the URL's values back into every form control (after Back/Forward or a link). */
export function syncForms(params = currentParams()) {
  for (const form of document.querySelectorAll("[data-filters], [data-fit]")) {
    for (const element of form.elements) {
      if (!element.name || element.type === "submit" || element.type === "button") continue;
      if (element.hasAttribute("data-keep")) continue;
      const value = params.get(element.name);
      if (element.tagName === "SELECT") {
        const fallback = element.name === "per_page" ? "20" : element.name === "fit_precision" ? "fp16" : "";
        element.value = value ?? fallback;
      } else if (element.name !== "fit_text") {
        element.value = value ?? "";
      }
    }
  }
}

/**
 * Show the results for `url` (a board URL like "/?gpu=h100"): fetch, swap, record in history.
 * `push` false when the browser already moved (popstate).
 */
export async function showResults(url, { push = true, focus = false } = {}) {
  const target = new URL(url, location.origin);
  controller?.abort();
  controller = new AbortController();
  const container = results();
  container.setAttribute("aria-busy", "true");
  try {
    const loaded = await fragment(`/board/table${target.search}`, controller.signal);
    if (!loaded) return;
    container.replaceChildren(loaded.content);
    refreshTimes(container);
    if (push && target.href !== location.href) history.pushState({ board: true }, "", target.href);
    syncForms(target.searchParams);
    document.dispatchEvent(new CustomEvent("board:results", { detail: { url: target.href } }));
    if (focus) container.focus({ preventScroll: false });
  } catch (error) {
    if (error.name !== "AbortError") throw error;
  } finally {
    container.removeAttribute("aria-busy");
  }
}

function isPlainClick(event) {
  return event.button === 0 && !event.metaKey && !event.ctrlKey && !event.shiftKey && !event.altKey;
}

/** Wire the filter and fit forms, sort and page links, Back/Forward. */
export function initTable() {
  const filters = document.querySelector("[data-filters]");
  filters?.addEventListener("submit", (event) => {
    event.preventDefault();
    showResults(urlFromForm(filters));
  });
  // Selects apply at once; text and number inputs on Enter or when they lose focus.
  filters?.addEventListener("change", (event) => {
    if (event.target.matches("select, input")) showResults(urlFromForm(filters));
  });
  filters?.querySelector("[data-reset]")?.addEventListener("click", (event) => {
    if (!isPlainClick(event)) return;
    event.preventDefault();
    showResults("/");
  });
  document.addEventListener("click", (event) => {
    const link = event.target.closest("a[data-table-link]");
    if (!link || !isPlainClick(event)) return;
    event.preventDefault();
    showResults(link.getAttribute("href"), { focus: link.closest(".pagination") !== null });
  });
  window.addEventListener("popstate", () => {
    showResults(location.href, { push: false });
  });
}

/** On a phone the filters start folded, so the offers are on the first screen. */
export function foldFiltersOnPhones() {
  const panel = document.querySelector("[data-filters-panel]");
  if (panel && window.matchMedia("(max-width: 720px)").matches) panel.open = false;
}
