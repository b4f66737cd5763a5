// The assistant panel, present only when the deployment serves /api/v2/ai/chat/stream: a
// message is POSTed and the Server-Sent Events of the answer (`delta` events with text, then
// one `done` event with the whole response) are read from the response body as they arrive.

import { apiFetch, errorMessage } from "./api.js";
import { openDrawer } from "./drawer.js";

let sessionId = null;

function bubble(log, role, text = "") {
  const item = document.createElement("div");
  item.className = `chat-message chat-${role}`;
  item.textContent = text;
  log.append(item);
  log.scrollTop = log.scrollHeight;
  return item;
}

/** Split an SSE stream into {event, data} records as chunks arrive. */
async function* events(body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replaceAll("\r\n", "\n");
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      yield { event, data: data.join("\n") };
    }
  }
}

function parseJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function showRecommendations(log, recommendations) {
  if (!Array.isArray(recommendations) || recommendations.length === 0) return;
  const list = document.createElement("ul");
  list.className = "chat-offers";
  for (const offer of recommendations.slice(0, 5)) {
    const id = offer.offer_id || offer.id;
    if (!id) continue;
    const item = document.createElement("li");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button-quiet";
    button.textContent = [offer.gpu || offer.name, offer.provider].filter(Boolean).join(" at ") || id;
    button.addEventListener("click", () => openDrawer(id, button));
    item.append(button);
    list.append(item);
  }
  log.append(list);
}

async function send(panel, form) {
  const log = panel.querySelector("[data-chat-log]");
  const message = new FormData(form).get("message").trim();
  if (!message) return;
  bubble(log, "user", message);
  form.reset();
  const answer = bubble(log, "assistant", "…");
  const payload = { message, ...(sessionId ? { session_id: sessionId } : {}) };
  const response = await apiFetch(panel.dataset.chatUrl, {
    method: "POST",
    headers: { Accept: "text/event-stream" },
    body: JSON.stringify(payload),
  });
  if (!response.ok || !response.body) {
    answer.textContent = `The assistant did not answer: ${await errorMessage(response)}`;
    return;
  }
  let text = "";
  for await (const { event, data } of events(response.body)) {
    const value = parseJson(data);
    if (event === "delta") {
      text += typeof value === "string" ? value : value.text ?? value.delta ?? "";
      answer.textContent = text;
    } else if (event === "done") {
      if (value && typeof value === "object") {
        sessionId = value.session_id || sessionId;
        if (value.reply) answer.textContent = value.reply;
        showRecommendations(log, value.recommendations);
      }
    } else if (event === "error") {
      answer.textContent = `The assistant failed: ${value?.error?.message || value?.message || data}`;
    }
    log.scrollTop = log.scrollHeight;
  }
}

export function initChat() {
  const panel = document.querySelector("[data-chat]");
  if (!panel?.dataset.chatUrl) return;
  const form = panel.querySelector("[data-chat-form]");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    send(panel, form).catch((error) => {
      bubble(panel.querySelector("[data-chat-log]"), "assistant", `The assistant failed: ${error.message}`);
    });
  });
}
