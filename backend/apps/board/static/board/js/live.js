// The live part: the /ws/ price stream (docs/websocket.md) applied to the table.
//
// Subscribes with the filters the stream knows (gpu, provider, region, max_price) taken from
// the URL; the table's other filters are checked by the server when a new offer has to be
// added (/board/offers/<id>/row answers 204 when it does not match). A changed price updates
// its cell and the figures proportional to it and flashes (up red, down green); a sold-out
// offer greys out; a new matching offer is inserted in sort order. The indicator
// (`data-ws-state`) says live or reconnecting; reconnects back off exponentially with jitter,
// and after a reconnect the table is reloaded, since updates may have been missed.

import { fragment } from "./api.js";
import { ago, refreshTimes, usd } from "./format.js";
import { currentParams, showResults } from "./table.js";

const STREAM_FILTERS = ["gpu", "provider", "region", "max_price"];
const BACKOFF_START_MS = 500;
const BACKOFF_MAX_MS = 15000;
// Two missed heartbeats (30 s each) mean a dead connection.
const SILENCE_LIMIT_MS = 65000;

let socket = null;
let attempt = 0;
let everConnected = false;
let silenceTimer = null;
let retryTimer = null;

function setState(state, label) {
  const indicator = document.querySelector("[data-ws-state]");
  if (!indicator) return;
  indicator.dataset.wsState = state;
  const text = indicator.querySelector("[data-ws-label]");
  if (text) text.textContent = label;
}

/** The subscribe filters for the current URL (those the stream understands). */
export function streamFilters(params = currentParams()) {
  const filters = {};
  for (const name of STREAM_FILTERS) {
    const value = params.get(name);
    if (!value) continue;
    filters[name] = name === "max_price" ? Number(value) : value;
  }
  if (params.get("gpu_type") && !filters.gpu) filters.gpu = params.get("gpu_type");
  return filters;
}

function subscribe() {
  if (socket?.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ type: "subscribe", filters: streamFilters() }));
  }
}

function rowOf(offerId) {
  return document.querySelector(`tr[data-offer-id="${CSS.escape(offerId)}"]`);
}

function flash(element, direction) {
  element.classList.remove("flash-up", "flash-down");
  void element.offsetWidth; // restart the animation
  element.classList.add(direction > 0 ? "flash-up" : "flash-down");
}

function setMoney(cell, value) {
  cell.dataset.value = String(value);
  const text = cell.querySelector("[data-text]") || cell;
  text.textContent = usd(value);
}

function setAvailability(row, status) {
  row.dataset.availability = status;
  const label = row.querySelector("[data-availability-label]");
  if (label) {
    label.textContent = status;
    label.className = `avail avail-${status}`;
  }
}

/** Apply one price change to its row (and the open drawer); false when the offer is not shown. */
export function applyUpdate(data) {
  const row = rowOf(data.offer_id);
  const newPrice = Number(data.new_price);
  const targets = [row, document.querySelector(`[data-offer-detail][data-offer-id="${CSS.escape(data.offer_id)}"]`)];
  let shown = false;
  for (const scope of targets) {
    if (!scope) continue;
    shown = true;
    const cell = scope.querySelector('[data-field="price_per_hour"]');
    const oldPrice = cell ? Number(cell.dataset.value) : NaN;
    if (cell && Number.isFinite(newPrice) && newPrice !== oldPrice) {
      setMoney(cell, newPrice);
      flash(cell, newPrice - oldPrice);
      if (oldPrice > 0) {
        for (const scaled of scope.querySelectorAll("[data-scales-with-price][data-value]")) {
          setMoney(scaled, Number(scaled.dataset.value) * (newPrice / oldPrice));
        }
      }
    }
    if (data.spot_price !== undefined) {
      const spot = scope.querySelector('[data-field="spot_price_per_hour"]');
      if (spot && data.spot_price !== null) setMoney(spot, Number(data.spot_price));
    }
  }
  if (!row) return shown;
  setAvailability(row, data.availability_status);
  const maxPrice = Number(currentParams().get("max_price"));
  row.classList.toggle("is-out-of-range", Number.isFinite(maxPrice) && maxPrice > 0 && newPrice > maxPrice);
  const when = data.price_as_of || data.timestamp;
  const time = row.querySelector('[data-field="price_as_of"] time');
  if (time && when) {
    time.setAttribute("datetime", when);
    time.textContent = ago(when);
  }
  return true;
}

function sortKey(row, field) {
  const cell = row.querySelector(`[data-field="${field}"]`);
  if (!cell) return null;
  if (cell.dataset.value !== undefined) return Number(cell.dataset.value);
  const time = cell.querySelector("time");
  return time ? Date.parse(time.getAttribute("datetime")) : null;
}

/** Insert a row the server rendered for a new offer where the table's sort puts it. */
function insertRow(newRow) {
  const tbody = document.querySelector("[data-rows]");
  const header = document.querySelector('th[aria-sort="ascending"], th[aria-sort="descending"]');
  if (!tbody || rowOf(newRow.dataset.offerId)) return;
  tbody.querySelector("tr.empty")?.remove();
  const rows = [...tbody.querySelectorAll("tr[data-offer-id]")];
  const field = header?.dataset.field;
  const descending = header?.getAttribute("aria-sort") === "descending";
  const key = field ? sortKey(newRow, field) : null;
  let before = null;
  if (key !== null) {
    before = rows.find((row) => {
      const other = sortKey(row, field);
      return other !== null && (descending ? other < key : other > key);
    }) || null;
  }
  const perPage = Number(currentParams().get("per_page") || 20);
  // A full page whose last row sorts before the new one: the offer belongs on a later page.
  if (!before && rows.length >= perPage) return;
  tbody.insertBefore(newRow, before);
  refreshTimes(newRow);
  const total = document.querySelector("[data-total]");
  if (total) total.dataset.total = String(Number(total.dataset.total) + 1);
}

async function addIfMatching(data) {
  const query = currentParams();
  query.delete("page");
  const loaded = await fragment(`/board/offers/${encodeURIComponent(data.offer_id)}/row?${query}`);
  const row = loaded?.content.querySelector("tr[data-offer-id]");
  if (row) insertRow(row);
}

/** Bring shown rows in line with a snapshot's offers (prices missed while connecting). */
function applySnapshot(offers) {
  for (const offer of offers) {
    const row = rowOf(offer.offer_id);
    if (!row) continue;
    const shownPrice = Number(row.querySelector('[data-field="price_per_hour"]')?.dataset.value);
    if (shownPrice === Number(offer.price_per_hour) && row.dataset.availability === offer.availability_status) {
      continue;
    }
    applyUpdate({
      offer_id: offer.offer_id,
      new_price: offer.price_per_hour,
      availability_status: offer.availability_status,
      price_as_of: offer.price_as_of,
      timestamp: offer.updated_at,
    });
  }
}

function resetSilenceTimer() {
  clearTimeout(silenceTimer);
  silenceTimer = setTimeout(() => socket?.close(4000, "silent"), SILENCE_LIMIT_MS);
}

function onFrame(event) {
  resetSilenceTimer();
  let frame;
  try {
    frame = JSON.parse(event.data);
  } catch {
    return;
  }
  if (frame.type === "price_update") {
    const data = frame.data;
    if (!applyUpdate(data) && data.old_price === null) addIfMatching(data);
  } else if (frame.type === "snapshot") {
    const reason = frame.data.reason;
    if (reason === "resync" || (reason === "connect" && everConnected && attempt > 0)) {
      showResults(location.href, { push: false });
    } else {
      applySnapshot(frame.data.offers || []);
    }
    attempt = 0;
    everConnected = true;
    setState("live", "live");
  }
}

function scheduleReconnect() {
  clearTimeout(silenceTimer);
  const delay = Math.min(BACKOFF_MAX_MS, BACKOFF_START_MS * 2 ** attempt) * (0.5 + Math.random() / 2);
  attempt += 1;
  setState("reconnecting", `reconnecting in ${Math.ceil(delay / 1000)} s…`);
  clearTimeout(retryTimer);
  retryTimer = setTimeout(connect, delay);
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  socket = new WebSocket(`${scheme}://${location.host}/ws/`);
  socket.addEventListener("open", () => {
    subscribe();
    resetSilenceTimer();
  });
  socket.addEventListener("message", onFrame);
  socket.addEventListener("close", () => {
    socket = null;
    scheduleReconnect();
  });
}

/** Start the stream; resubscribe whenever the results change. */
export function initLive() {
  connect();
  document.addEventListener("board:results", subscribe);
  window.addEventListener("online", () => {
    if (!socket) {
      clearTimeout(retryTimer);
      connect();
    }
  });
}
