// Number and time formats: the same rules as apps/board/formatting.py (usd, ago).

/** A dollar amount with the precision its size needs; an em dash for null. */
export function usd(value) {
  if (value === null || value === undefined || !Number.isFinite(value)) return "—";
  if (value >= 1) {
    return "$" + value.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }
  if (value >= 0.01) return "$" + value.toFixed(3);
  if (value <= 0) return "$0";
  const decimals = 3 - Math.floor(Math.log10(value));
  return "$" + value.toFixed(decimals);
}

/** How long before `now` (ms) the ISO time `iso` was: "just now", "45 s ago", "3 min ago"... */
export function ago(iso, now = Date.now()) {
  if (!iso) return "never";
  const seconds = (now - Date.parse(iso)) / 1000;
  if (!Number.isFinite(seconds) || seconds < 10) return "just now";
  if (seconds < 60) return `${Math.floor(seconds)} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86400)} d ago`;
}

/** Keep every `time[data-ago]` under `root` reading right. */
export function refreshTimes(root = document) {
  const now = Date.now();
  for (const element of root.querySelectorAll("time[data-ago]")) {
    const iso = element.getAttribute("datetime");
    if (iso) element.textContent = ago(iso, now);
  }
}
