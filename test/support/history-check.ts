/**
 * Runs the linearizability checker (tools/linearizability on Porcupine, built
 * once by scripts/porcupine.sh into ~/.cache/irisdb) over a history. A
 * failing key's HTML visualization goes to test-artifacts/linearizability/
 * (gitignored).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from './kube/binaries.js';
import { run } from './run.js';
import type { History, HistoryOp } from './history.js';

export interface CheckReport {
  linearizable: boolean;
  result: 'ok' | 'illegal' | 'unknown' | 'error';
  keys: number;
  ops: number;
  checked: number;
  failingKey?: string;
  visualization?: string;
  eventualReads: number;
  eventualStale: number;
  neverWritten?: string[];
  error?: string;
}

let checkerPath: Promise<string> | undefined;

/** $IRIS_LINEARIZABILITY if set, else the binary scripts/porcupine.sh builds (once). */
export function checkerBinary(): Promise<string> {
  checkerPath ??= (async () => {
    const fromEnv = process.env.IRIS_LINEARIZABILITY;
    if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
    const script = path.join(REPO_ROOT, 'scripts/porcupine.sh');
    const r = await run('bash', [script], { stderr: 'inherit', timeoutMs: 0 });
    if (r.code !== 0) throw new Error(`${script} exited with ${r.code}`);
    const bin = path.join(r.stdout.trim().split('\n').pop() ?? '', 'linearizability');
    if (!fs.existsSync(bin)) throw new Error(`${bin} is missing: run scripts/porcupine.sh`);
    return bin;
  })();
  return checkerPath;
}

export const ARTIFACTS_DIR = path.join(REPO_ROOT, 'test-artifacts', 'linearizability');

/** Checks `history`; `name` labels the saved history and visualization. */
export async function checkHistory(history: History | { ops: HistoryOp[] }, name: string): Promise<CheckReport> {
  const bin = await checkerBinary();
  const dir = path.join(ARTIFACTS_DIR, name);
  await fs.promises.mkdir(dir, { recursive: true });
  const file = path.join(dir, 'history.json');
  await fs.promises.writeFile(file, JSON.stringify(history) + os.EOL);
  const r = await run(bin, ['-viz-dir', dir, '-timeout', '120s', file], { timeoutMs: 180_000 });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let report: CheckReport;
  try {
    report = JSON.parse(line) as CheckReport;
  } catch {
    throw new Error(`the checker printed no report (exit ${r.code}): ${r.stdout}\n${r.stderr}`);
  }
  if (report.result === 'error') throw new Error(`the checker refused the history ${file}: ${report.error ?? ''}`);
  return report;
}
