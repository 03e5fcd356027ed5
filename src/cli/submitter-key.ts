/**
 * `candor submitter-key`: creates a key pair for signing governance records and prints
 * the entry to add to the log's submitter allowlist (`--submitters FILE`).
 *
 *   candor submitter-key --out FILE [--type ed25519|ecdsa-p256] [--name NAME]
 *       [--role engineer|approver|ci ...] [--env E ...]
 *
 * Writes the private key to FILE (PKCS #8 PEM, mode 0600; an existing file is never
 * replaced) and the public key to FILE.pub (PEM, for openssl and cosign). Prints the
 * allowlist entry as JSON on stdout, e.g.
 *   {"name":"alice","roles":["engineer"],"keyid":"3f2a…","publicKey":"MCowBQYDK2VwAyEA…"}
 * The name defaults to FILE's base name; the role to engineer. Ed25519 is the default
 * type; ecdsa-p256 suits tools that only do NIST curves (cosign, model_signing).
 */
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import {
  formatPublicKey,
  formatPublicKeyPem,
  generateSigningKey,
  type KeyAlgorithm,
} from '../governance/keys.js';
import { ROLES } from '../governance/submitters.js';
import {
  CommandError,
  GOVERNANCE_EXIT,
  nodeIo,
  runCommand,
  usage,
  type GovernanceIo,
} from './governance-io.js';

const SYNOPSIS =
  'candor submitter-key --out FILE [--type ed25519|ecdsa-p256] [--name NAME] [--role R ...] [--env E ...]';

/** The parseArgs options of `candor submitter-key`. */
export const SUBMITTER_KEY_OPTIONS = {
  out: { type: 'string' },
  type: { type: 'string' },
  name: { type: 'string' },
  role: { type: 'string', multiple: true },
  env: { type: 'string', multiple: true },
} as const;

/**
 * Runs `candor submitter-key` with the arguments after `submitter-key`; resolves with the
 * exit code. Never throws and never exits the process.
 */
export function submitterKeyCommand(args: string[], io: GovernanceIo = nodeIo): Promise<number> {
  return runCommand('submitter-key', io, SYNOPSIS, async () => {
    const { values, positionals } = parseArgs({
      args,
      options: SUBMITTER_KEY_OPTIONS,
      allowPositionals: true,
      strict: true,
    });
    if (positionals.length > 0) throw usage(`unexpected argument "${positionals[0]}"`);
    if (values.out === undefined) throw usage('--out FILE is required');
    const type = values.type ?? 'ed25519';
    if (type !== 'ed25519' && type !== 'ecdsa-p256')
      throw usage('--type must be ed25519 or ecdsa-p256');
    const roles = values.role ?? ['engineer'];
    const bad = roles.find((r) => !(ROLES as readonly string[]).includes(r));
    if (bad !== undefined) throw usage(`--role must be one of ${ROLES.join(', ')}, got "${bad}"`);
    const name =
      values.name ??
      basename(values.out)
        .replace(/\.[^.]*$/, '')
        .replace(/[^A-Za-z0-9._@+-]/g, '-');
    if (!/^[A-Za-z0-9][A-Za-z0-9._@+-]{0,127}$/.test(name)) {
      throw usage(`--name must be 1 to 128 of letters, digits and ._@+-, got "${name}"`);
    }
    const { privateKeyPem, publicKey } = generateSigningKey(type as KeyAlgorithm);
    try {
      await io.writeFile(values.out, privateKeyPem, { mode: 0o600, exclusive: true });
      await io.writeFile(`${values.out}.pub`, formatPublicKeyPem(publicKey), {
        mode: 0o644,
        exclusive: true,
      });
    } catch (err) {
      throw new CommandError(
        GOVERNANCE_EXIT.ERROR,
        `cannot write the key: ${(err as Error).message}`
      );
    }
    const entry = {
      name,
      roles,
      ...(values.env === undefined ? {} : { environments: values.env }),
      keyid: publicKey.fingerprint,
      publicKey: formatPublicKey(publicKey),
    };
    io.err(
      `wrote ${type} private key to ${values.out} (mode 0600) and public key to ${values.out}.pub\n`
    );
    io.out(JSON.stringify(entry) + '\n');
    return GOVERNANCE_EXIT.OK;
  });
}
