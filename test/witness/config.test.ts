/** Command-line spellings of logs and peers, and the add-checkpoint body grammar. */
import { describe, expect, it } from 'vitest';
import { buildLogs, buildPeers, parseLogSpec, parsePeerSpec } from '../../src/witness/config.js';
import { formatAddCheckpointRequest, parseAddCheckpointRequest } from '../../src/witness/request.js';
import { CHECKPOINT_8, LOG_VKEY, WITNESS_VKEY } from './helpers.js';

const SUM_VKEY = 'sum.golang.org+033de0ae+Ac4zctda0e5eza+HJyk9SxEdh+s3Ux18htTTAD8OuAn8';

describe('--log and --peer', () => {
  it('parses ORIGIN=VKEY@URL, with or without the URL, even when the key contains "+"', () => {
    expect(parseLogSpec(`example.com/testlog=${LOG_VKEY}@http://127.0.0.1:8080/`)).toEqual({
      origin: 'example.com/testlog',
      verifierKeys: [LOG_VKEY],
      url: 'http://127.0.0.1:8080',
    });
    expect(parseLogSpec(`go.sum database tree=${SUM_VKEY}@https://sum.golang.org`)).toEqual({
      origin: 'go.sum database tree',
      verifierKeys: [SUM_VKEY],
      url: 'https://sum.golang.org',
    });
    expect(parseLogSpec(`example.com/testlog=${LOG_VKEY}`)).toEqual({ origin: 'example.com/testlog', verifierKeys: [LOG_VKEY] });
  });

  it.each([
    ['no origin', `=${LOG_VKEY}@http://x`],
    ['no key', 'example.com/testlog=@http://x'],
    ['a cosigner (0x04) key for a log', `example.com/testlog=${WITNESS_VKEY}@http://x`],
    ['a bad key ID', `example.com/testlog=${LOG_VKEY.replace('3814a360', '3814a361')}@http://x`],
    ['a non-http URL', `example.com/testlog=${LOG_VKEY}@ftp://x`],
    ['a URL with a query', `example.com/testlog=${LOG_VKEY}@http://x/?a=1`],
    ['an origin with surrounding space', ` example.com/testlog=${LOG_VKEY}`],
  ])('rejects a --log with %s', (_name, spec) => {
    expect(() => parseLogSpec(spec)).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
  });

  it('parses VKEY@URL for peers (type 0x04 or 0x01) and requires the URL', () => {
    expect(parsePeerSpec(`${WITNESS_VKEY}@http://127.0.0.1:9000`)).toEqual({ verifierKey: WITNESS_VKEY, url: 'http://127.0.0.1:9000' });
    expect(parsePeerSpec(`${LOG_VKEY}@http://w`)).toEqual({ verifierKey: LOG_VKEY, url: 'http://w' });
    expect(() => parsePeerSpec(WITNESS_VKEY)).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
  });

  it('merges keys of one origin (rotation) and refuses two URLs for it', () => {
    const logs = buildLogs([
      { origin: 'o', verifierKeys: [LOG_VKEY], url: 'http://a/' },
      { origin: 'o', verifierKeys: [SUM_VKEY] },
      { origin: 'o', verifierKeys: [LOG_VKEY], url: 'http://a' },
    ]);
    expect(logs.get('o')).toMatchObject({ verifierKeys: [LOG_VKEY, SUM_VKEY], url: 'http://a' });
    expect(logs.get('o')!.verifiers).toHaveLength(2);
    expect(() => buildLogs([{ origin: 'o', verifierKeys: [LOG_VKEY], url: 'http://a' }, { origin: 'o', verifierKeys: [LOG_VKEY], url: 'http://b' }])).toThrow();
    expect(buildPeers([{ verifierKey: WITNESS_VKEY, url: 'http://w' }, { verifierKey: WITNESS_VKEY, url: 'http://w/' }])).toHaveLength(1);
    expect(() => buildPeers([{ verifierKey: WITNESS_VKEY, url: 'http://w' }, { verifierKey: WITNESS_VKEY, url: 'http://v' }])).toThrow();
  });
});

describe('add-checkpoint body', () => {
  it('round-trips and splits at the FIRST blank line', () => {
    const proof = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
    const body = formatAddCheckpointRequest(4, proof, CHECKPOINT_8);
    expect(parseAddCheckpointRequest(body)).toEqual({ old: 4, proof, note: CHECKPOINT_8 });
    expect(parseAddCheckpointRequest(new TextEncoder().encode(body)).note).toBe(CHECKPOINT_8);
    expect(parseAddCheckpointRequest(`old 0\n\n${CHECKPOINT_8}`)).toEqual({ old: 0, proof: [], note: CHECKPOINT_8 });
  });

  it.each([
    ['old 00\n\nx\n'],
    ['old 1 \n\nx\n'],
    ['old 9007199254740992\n\nx\n'],
    ['OLD 1\n\nx\n'],
    ['old 1\r\n\r\nx\n'],
    ['old 1\n\n'],
    [`old 1\n${'A'.repeat(43)}=\n\nx\n`.replace('AAAA=', 'AAA=')],
  ])('rejects %j', (body) => {
    expect(() => parseAddCheckpointRequest(body)).toThrow(expect.objectContaining({ code: 'MALFORMED' }));
  });

  it('caps the body at 64 KiB', () => {
    expect(() => parseAddCheckpointRequest(`old 0\n\n${'x'.repeat(65536)}`)).toThrow(expect.objectContaining({ code: 'TOO_LARGE' }));
  });
});
