/**
 * The pure parts of the connection guard: the address that per-client caps count by, and
 * the checking of configured limits. The guard itself is tested with real sockets against
 * real processes in test/e2e/http-limits.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { clientKey, resolveHttpLimits } from '../../src/server/http-limits.js';
import { isLogError } from '../../src/util/errors.js';

describe('clientKey', () => {
  it('keeps IPv4 addresses, unmaps IPv4-mapped IPv6 ones, and groups IPv6 by /64', () => {
    expect(clientKey('203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientKey('2001:db8:1:2:aaaa:bbbb:cccc:dddd')).toBe('2001:db8:1:2::/64');
    // The same /64 however the address is written.
    expect(clientKey('2001:0db8:0001:0002::1')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:db8:1:2::ffff')).toBe('2001:db8:1:2::/64');
    expect(clientKey('2001:DB8:1:2:0:0:0:1')).toBe('2001:db8:1:2::/64');
    // Another /64 is another client; so are the short forms with the gap in the prefix.
    expect(clientKey('2001:db8:1:3::1')).toBe('2001:db8:1:3::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
  });
});

describe('resolveHttpLimits', () => {
  it('fills in the defaults and keeps what is given', () => {
    const limits = resolveHttpLimits({ writeTimeoutMs: 1234, maxConnectionsPerIp: 0 });
    expect(limits.writeTimeoutMs).toBe(1234);
    expect(limits.maxConnectionsPerIp).toBe(0);
    expect(limits.headerTimeoutMs).toBe(5000);
    expect(limits.maxConnections).toBeGreaterThanOrEqual(16);
    expect(limits.maxConnections).toBeLessThanOrEqual(512);
  });

  it('refuses zero where a limit must be positive, fractions, and a header deadline past the request one', () => {
    for (const bad of [{ maxConnections: 0 }, { writeTimeoutMs: 1.5 }, { uploadBudgetBytes: -1 }, { headerTimeoutMs: 40_000 }]) {
      let caught: unknown;
      try {
        resolveHttpLimits(bad);
      } catch (err) {
        caught = err;
      }
      expect(isLogError(caught, 'MALFORMED')).toBe(true);
    }
  });
});
