/**
 * Waiting on another process in end-to-end tests: a server that notices a file change, a
 * signal or a revocation a moment after the test makes it.
 */

/**
 * Calls `f` every `pollMs` until it gives something other than undefined, and resolves
 * with that; rejects with "timed out waiting for WHAT" once `ms` have passed.
 */
export async function until<T>(what: string, f: () => Promise<T | undefined>, ms = 8000, pollMs = 100): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await f();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
