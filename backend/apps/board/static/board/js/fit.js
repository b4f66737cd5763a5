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

/** What each field becomes when a description does not name it: the form's defaults. */
const FIELD_DEFAULTS = { fit_model: "", fit_precision: "fp16", fit_context: "" };

/**
 * Turn `text` into the fit's fields. A description that names a model replaces the whole fit:
 * the fields it names take its values, the others go back to their defaults (fp16, the
 * default context), so nothing is carried over from an earlier description. One in which the
 * parser finds no model changes nothing and says so. Returns whether the fields were set.
 */
async function parseText(form, text) {
  const error = form.querySelector("[data-fit-error]");
  const response = await apiFetch(form.dataset.parseUrl, { method: "POST", body: JSON.stringify({ text }) });
  if (!response.ok) {
    error.textContent = `Could not read the description: ${await errorMessage(response)}`;
    return false;
  }
  const parsed = await response.json();
  const found = Object.fromEntries(Object.entries(FIELD_NAMES).map(([name, names]) => [name, pick(parsed, names)]));
  if (found.fit_model === null) {
    error.textContent = "No model recognised in the description: the fit is unchanged.";
    return false;
  }
  for (const [name, value] of Object.entries(found)) {
    const element = form.elements.namedItem(name);
    if (!element) continue;
    const text = value ?? FIELD_DEFAULTS[name];
    element.value = name === "fit_precision" ? text.toLowerCase() : text;
  }
  return true;
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
    for (const [name, value] of Object.entries(FIELD_DEFAULTS)) {
      const element = form.elements.namedItem(name);
      if (element) element.value = value;
    }
    const text = form.elements.namedItem("fit_text");
    if (text) text.value = "";
    showResults(urlFromForm(form, { fit_text: null, fit_model: null, fit_precision: null, fit_context: null }));
  });
}
