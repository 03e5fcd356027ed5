/**
 * Runs the real `candor serve` program (the built dist/cli/main.js) as a child process on
 * 127.0.0.1 with an OS-chosen port, for end-to-end and crash tests.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { existsSync } from 'node:fs';

// From test/helpers/, or from dist-scripts/test/helpers/ when compiled for scripts/.
const ROOT = new URL(import.meta.url.includes('/dist-scripts/') ? '../../../' : '../../', import.meta.url);
export const CLI = fileURLToPath(new URL('dist/cli/main.js', ROOT));

/** What a `candor` command run by runCandor printed, and its exit code. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

const execFileAsync = promisify(execFile);

/**
 * Runs the built `candor` command with `args` and resolves with its exit code and output;
 * never rejects for a non-zero exit. CANDOR_URL is cleared unless `env` sets it, so a
 * developer's own setting never reaches a test.
 */
export async function runCandor(args: string[], env: Record<string, string> = {}, timeoutMs = 30_000): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], {
      env: { ...process.env, CANDOR_URL: '', ...env },
      timeout: timeoutMs,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as CliResult;
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

export interface ServerProcess {
  url: string;
  verifierKey: string;
  proc: ChildProcess;
  output: () => string;
  /** SIGTERM and wait for a clean exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL: no chance to flush or close anything. */
  kill(): Promise<void>;
}

export async function startServerProcess(dataDir: string, extraArgs: string[] = []): Promise<ServerProcess> {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
  const proc = spawn(
    process.execPath,
    [CLI, 'serve', '--data', dataDir, '--host', '127.0.0.1', '--port', '0', ...extraArgs],
    { stdio: ['ignore', 'pipe', 'pipe'] }
  );
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  const started = await new Promise<{ url: string; verifierKey: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}`)), 15_000);
    const check = (): void => {
      const url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
      const vkey = /verifier key: (\S+)/.exec(out)?.[1];
      if (url !== undefined && vkey !== undefined) {
        clearTimeout(timer);
        resolve({ url, verifierKey: vkey });
      }
    };
    proc.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before starting:\n${out}`));
    });
  });
  return {
    ...started,
    proc,
    output: () => out,
    async stop() {
      proc.kill('SIGTERM');
      return exited;
    },
    async kill() {
      proc.kill('SIGKILL');
      await exited;
    },
  };
}
