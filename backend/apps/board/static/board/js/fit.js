// "Does it fit?": the form's model, precision and context go into the URL (fit_*), and the
// server sizes the model and filters the table to instances that hold it. When the AI
// assistant is deployed (data-parse-url), a free-text description is first turned into those
// fields by POST /api/v2/ai/parse-workload.

import { apiFetch, errorMessage } from "./api.js";
import { showResults, urlFromForm } from "./table.js";

const FIELD_NAMES = {
  fit_model: ["model", "model_name"],
  fit_precision: ["precision"],
  fit_context: ["context_length", "context_tokens", "context"],
};

/**
 * A parsed value as the form's text: parse-workload sends each field as `{value, start, end,
 * text}` and some values are mentions (a model `{name, params_billion, ...}`, a precision
 * `{format, method}`); a model named only by its size becomes "<size>b".
 */
function plainValue(value) {
  if (value === null || value === undefined || typeof value !== "object") return value ?? null;
  if (value.name) return value.name;
  if (value.format) return value.format;
  if (value.params_billion) return `${value.params_billion}b`;
  return null;
}

/** A parsed field's value: the field itself or its `value` (fields carry their source span). */
function pick(parsed, names) {
  const scopes = [parsed, parsed?.fields, parsed?.workload, parsed?.parsed_workload];
  for (const scope of scopes) {
    if (!scope || typeof scope !== "object") continue;
    for (const name of names) {
      const field = scope[name];
      if (field === undefined || field === null) continue;
      const value = plainValue(typeof field === "object" && "value" in field ? field.value : field);
      if (value !== null && value !== "") return String(value);
    }
  }
  return null;
}

async function parseText(form, text) {
  const error = form.querySelector("[data-fit-error]");
  const response = await apiFetch(form.dataset.parseUrl, { method: "POST", body: JSON.stringify({ text }) });
  if (!response.ok) {
    error.textContent = `Could not read the description: ${await errorMessage(response)}`;
    return false;
  }
  const parsed = await response.json();
  let found = false;
  for (const [name, names] of Object.entries(FIELD_NAMES)) {
    const value = pick(parsed, names);
    const element = form.elements.namedItem(name);
    if (value !== null && element) {
      element.value = name === "fit_precision" ? value.toLowerCase() : value;
      found = true;
    }
  }
  if (!found) error.textContent = "No model, precision or context length found in the description.";
  return found;
}

export function initFit() {
  const form = document.querySelector("[data-fit]");
  if (!form) return;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    form.querySelector("[data-fit-error]").textContent = "";
    const text = form.elements.namedItem("fit_text")?.value.trim();
    if (text && form.dataset.parseUrl && !(await parseText(form, text))) return;
    const hasModel = form.elements.namedItem("fit_model").value.trim() !== "";
    const cleared = hasModel ? {} : { fit_precision: null, fit_context: null };
    showResults(urlFromForm(form, { fit_text: null, ...cleared }), { focus: true });
  });
  form.querySelector("[data-fit-clear]")?.addEventListener("click", () => {
    for (const name of Object.keys(FIELD_NAMES)) {
      const element = form.elements.namedItem(name);
      if (element) element.value = name === "fit_precision" ? "fp16" : "";
    }
    const text = form.elements.namedItem("fit_text");
    if (text) text.value = "";
    showResults(urlFromForm(form, { fit_text: null, fit_model: null, fit_precision: null, fit_context: null }));
  });
}
