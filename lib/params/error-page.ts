/**
 * A small self-contained HTML page for the answers proxy.ts gives before any page renders (400 for
 * query parameters that do not parse, 503 while Postgres is down). An App Router page cannot set its own status, and a rewrite's
 * status is not kept, so the proxy answers with this instead. Everything interpolated is escaped.
 */
const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

export function errorPageHtml(options: {
  status: number;
  title: string;
  message: string;
  backHref: string;
  backLabel: string;
  /** Reload the page after this many seconds (for a server that is down for a moment). */
  refreshSeconds?: number;
}): string {
  const { status, title, message, backHref, backLabel, refreshSeconds } = options;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">${refreshSeconds ? `\n<meta http-equiv="refresh" content="${Math.round(refreshSeconds)}">` : ""}
<title>${escapeHtml(title)} · Idem</title>
<style>
  body { margin: 0; font-family: ui-sans-serif, system-ui, sans-serif; background: #fafafa; color: #18181b; }
  main { min-height: 70vh; display: flex; flex-direction: column; align-items: center; justify-content: center; gap: 12px; padding: 32px; text-align: center; }
  .code { font-size: 14px; font-weight: 600; color: #71717a; margin: 0; }
  h1 { font-size: 20px; font-weight: 600; margin: 0; }
  .message { max-width: 36rem; font-size: 14px; color: #3f3f46; margin: 0; padding: 8px 12px; border-radius: 6px; background: #fef2f2; border: 1px solid #fecaca; font-family: ui-monospace, monospace; overflow-wrap: anywhere; }
  a { font-size: 14px; font-weight: 500; color: #0369a1; text-decoration: none; }
  a:hover { text-decoration: underline; }
</style>
</head>
<body>
<main>
  <p class="code">${status}</p>
  <h1>${escapeHtml(title)}</h1>
  <p class="message" data-testid="bad-request-message">${escapeHtml(message.slice(0, 500))}</p>
  <a href="${escapeHtml(backHref)}">${escapeHtml(backLabel)}</a>
</main>
</body>
</html>
`;
}
