/**
 * Reading an HTTP response body with a size cap, for bodies from parties we do not trust
 * (logs, witnesses, peers): a declared or actual length past the cap stops the read.
 * Isomorphic: uses only the fetch API's streams.
 */
import { LogError } from './errors.js';

/**
 * The whole body of `res`, at most `maxBytes` long.
 * @throws LogError TOO_LARGE when the body is (or says it is) longer; `what` names it.
 */
export async function readBodyCapped(res: Response, maxBytes: number, what: string): Promise<Uint8Array> {
  const tooLarge = (): LogError =>
    new LogError('TOO_LARGE', `${what}: response body exceeds ${maxBytes} bytes`);
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (res.body === null) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.length;
    if (total > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
