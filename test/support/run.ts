/**
 * The one way tests, the e2e harness and the benchmarks run a command-line
 * tool (kubectl, helm, openssl, redis-benchmark, the build script...) and
 * collect its output, with a deadline.
 */
import { spawn } from 'node:child_process';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Written to the tool's stdin, which is then closed. */
  input?: string | Buffer;
  /** Kill the tool (SIGKILL) and reject after this long; default 60 s, 0: no deadline. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** 'inherit' passes the tool's stderr through (a long build's progress) instead of collecting it. */
  stderr?: 'collect' | 'inherit';
}

/** Resolves with the exit code and output whatever the code; rejects only when the tool cannot start or misses its deadline. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', opts.stderr === 'inherit' ? 'inherit' : 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr?.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timeoutMs = opts.timeoutMs ?? 60000;
    const timer = timeoutMs === 0 ? undefined : setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')} did not finish within ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', (err) => { clearTimeout(timer); reject(err); });
    // 'close', not 'exit': the process can exit before its output has been read (an empty "no" from kubectl auth can-i).
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
    // A tool that exits without reading stdin (redis-cli with its arguments) makes this write EPIPE: not a failure of the run.
    child.stdin!.on('error', () => {});
    child.stdin!.end(opts.input ?? '');
  });
}

/** Like run(), but resolves with stdout only on exit code 0 and otherwise rejects with the tool's stderr; `name` labels the error. */
export async function runChecked(cmd: string, args: string[], opts: RunOptions & { name?: string } = {}): Promise<string> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new Error(`${opts.name ?? cmd} ${args.join(' ')} exited with ${r.code}: ${r.stderr.trim()}`);
  return r.stdout;
}
