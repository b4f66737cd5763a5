// Logging in on the board: POST /api/v2/auth/login, then who the user is (/auth/me) and which
// providers their team can book through (/config/integrations, status "active").

import { apiFetch, errorMessage, saveTokens, tokens } from "./api.js";

let usable = new Set();

/** Providers the logged-in user's team has a working integration for. */
export function integrations() {
  return usable;
}

function show(element, visible) {
  if (element) element.hidden = !visible;
}

async function loadAccount() {
  const email = document.querySelector("[data-account-email]");
  const loginButton = document.querySelector("[data-login-open]");
  const logoutButton = document.querySelector("[data-logout]");
  const chatLogin = document.querySelector("[data-chat-login]");
  const chatForm = document.querySelector("[data-chat-form]");
  const loggedIn = Boolean(tokens()?.access_token);
  usable = new Set();
  if (loggedIn) {
    const me = await apiFetch("/api/v2/auth/me");
    if (me.ok) {
      if (email) email.textContent = (await me.json()).email;
      const list = await apiFetch("/api/v2/config/integrations");
      if (list.ok) {
        usable = new Set((await list.json()).filter((i) => i.status === "active").map((i) => i.provider));
      }
    } else {
      saveTokens(null);
      return;
    }
  }
  const active = Boolean(tokens()?.access_token);
  show(email, active);
  show(logoutButton, active);
  show(loginButton, !active);
  show(chatLogin, !active);
  show(chatForm, active);
  document.dispatchEvent(new CustomEvent("board:integrations"));
}

export function initAuth() {
  const dialog = document.querySelector("[data-login-dialog]");
  const form = document.querySelector("[data-login-form]");
  const error = document.querySelector("[data-login-error]");
  document.querySelector("[data-login-open]")?.addEventListener("click", () => {
    error.textContent = "";
    dialog.showModal();
  });
  dialog?.querySelector("[data-dialog-close]")?.addEventListener("click", () => dialog.close());
  form?.addEventListener("submit", async (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const response = await fetch("/api/v2/auth/login", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ email: data.get("email"), password: data.get("password") }),
    });
    if (!response.ok) {
      error.textContent = await errorMessage(response);
      return;
    }
    saveTokens(await response.json());
    form.reset();
    dialog.close();
  });
  document.querySelector("[data-logout]")?.addEventListener("click", async () => {
    const refreshToken = tokens()?.refresh_token;
    if (refreshToken) {
      await apiFetch("/api/v2/auth/logout", { method: "POST", body: JSON.stringify({ refresh_token: refreshToken }) });
    }
    saveTokens(null);
  });
  document.addEventListener("board:auth", loadAccount);
  loadAccount();
}
