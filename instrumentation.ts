/**
 * Runs once when the console's server starts. Next calls this in every runtime; the fold loop needs
 * Node (postgres.js). NEXT_RUNTIME is Next's own build-time marker, not configuration, which is why it
 * is read here rather than through lib/env.ts.
 */
export async function register() {
  if (process.env.NEXT_RUNTIME !== "nodejs") return;
  // Parse the environment now, so a bad variable stops the server at start, naming the variable.
  await import("./lib/env");
  const { startConsoleStatsFolding } = await import("./lib/ledger/stats-folding");
  startConsoleStatsFolding();
}
