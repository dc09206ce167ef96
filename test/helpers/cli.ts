import { spawn } from 'node:child_process';
import path from 'node:path';
import { PROJECT_ROOT } from '../../shared/core/config/config';

export const CLI = path.join(PROJECT_ROOT, 'dist', 'producers', 'cli', 'ticketflow.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the built `ticketflow` CLI (or the one at `cli`) with `env` added to this process's environment. */
export function runCli(args: string[], env: Record<string, string>, cli = CLI): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
