// Talking to the REST API (/api/v2): fetch with the access token when logged in, refresh once
// on 401. Tokens live in sessionStorage: they end with the tab, and no page script but ours
// runs here (strict Content-Security-Policy).

const STORE = "gpubroker.tokens";

export function tokens() {
  try {
    return JSON.parse(sessionStorage.getItem(STORE) || "null");
  } catch {
    return null;
  }
}

export function saveTokens(pair) {
  if (pair) sessionStorage.setItem(STORE, JSON.stringify(pair));
  else sessionStorage.removeItem(STORE);
  document.dispatchEvent(new CustomEvent("board:auth"));
}

async function refresh() {
  const current = tokens();
  if (!current?.refresh_token) return false;
  const response = await fetch("/api/v2/auth/refresh", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ refresh_token: current.refresh_token }),
  });
  if (!response.ok) {
    saveTokens(null);
    return false;
  }
  saveTokens(await response.json());
  return true;
}

/** fetch() against the API with the bearer token (when logged in) and one refresh on 401. */
export async function apiFetch(path, options = {}) {
  const send = () => {
    const headers = new Headers(options.headers || {});
    const access = tokens()?.access_token;
    if (access) headers.set("Authorization", `Bearer ${access}`);
    if (options.body && !headers.has("Content-Type")) headers.set("Content-Type", "application/json");
    return fetch(path, { ...options, headers });
  };
  let response = await send();
  if (response.status === 401 && tokens()?.refresh_token && (await refresh())) {
    response = await send();
  }
  return response;
}

/** The API's error message from an envelope, or the status line. */
export async function errorMessage(response) {
  try {
    const body = await response.json();
    return body?.error?.message || body?.detail || `${response.status} ${response.statusText}`;
  } catch {
    return `${response.status} ${response.statusText}`;
  }
}

/** An HTML fragment of the board (same origin), parsed into a DocumentFragment. */
export async function fragment(url, signal) {
  const response = await fetch(url, { signal, headers: { Accept: "text/html" } });
  if (response.status === 204) return null;
  const text = await response.text();
  const template = document.createElement("template");
  template.innerHTML = text;
  return { status: response.status, content: template.content };
}
