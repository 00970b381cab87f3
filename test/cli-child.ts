// The built CLI in a child process, as users run it (`npm run build` makes lib/ first).
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const CLI = join(__dirname, '..', 'lib', 'cli.js');

/** What a run of the CLI gave. */
export interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the built CLI (lib/cli.js) in a child process, awaited (never synchronously, so that a server in this process can answer it). */
export function runCliInChild(args: string[], options: { env?: NodeJS.ProcessEnv; input?: string } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: options.env ?? process.env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}
