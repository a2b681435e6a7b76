/**
 * A child process for the write journal's crash tests: opens a real engine
 * with the journal on the given data directory, runs the turns it is given
 * (each awaited to its acknowledgement, which it then reports on stdout as
 * "ACK <index>"), and ends with a kill -9 of itself (optionally in the
 * middle of an unfinished turn) or a clean close.
 *
 * argv: <dataDir> <json JournalChildScript>
 */
import fs from 'node:fs';
import { openEngine } from '../../node/engine/open.js';
import type { Mutation, MutationLog } from '../../node/engine/types.js';
import { engineOptions } from './engine-fixture.js';

export type JournalOp =
  | { readonly op: 'set'; readonly key: string; readonly value: string; readonly expiresAt: number | null }
  | { readonly op: 'del'; readonly key: string }
  | { readonly op: 'expire'; readonly key: string; readonly expiresAt: number | null }
  /** A read at `now`: an expired key is deleted lazily (a logged delete). */
  | { readonly op: 'get'; readonly key: string; readonly now: number }
  /** Writes that fail the whole turn (the mutation log refuses the key FAIL_KEY). */
  | { readonly op: 'fail' }
  /** An atomically() block that throws after a write: undone, the rest of the turn stays. */
  | { readonly op: 'abort'; readonly key: string }
  /** Commits the SQLite batch now (as before a snapshot). */
  | { readonly op: 'commit' };

export interface JournalChildScript {
  readonly turns: ReadonlyArray<readonly JournalOp[]>;
  /** Ops run after the last acknowledged turn and before the kill (never acknowledged), or null for a clean close. */
  readonly crashAfter: readonly JournalOp[] | null;
  readonly fsync: 'always' | 'batch';
  readonly maxTurns: number;
}

export const FAIL_KEY = 'boom';

/** A mutation log that refuses FAIL_KEY (fails the turn) and otherwise keeps nothing. */
const failingLog: MutationLog = {
  record(m: Mutation): void {
    if (m.op !== 'clear' && m.key.toString() === FAIL_KEY) throw new Error('refused by the test log');
  },
  beforeCommit(): void {},
  committed(): void {},
  rolledBack(): void {},
};

async function main(): Promise<void> {
  const [dir, json] = process.argv.slice(2);
  const script = JSON.parse(json!) as JournalChildScript;
  const engine = openEngine(engineOptions(dir!, { fsync: script.fsync, journal: { commitMs: 50, maxTurns: script.maxTurns } }));
  engine.setMutationLog(failingLog);
  const ks = engine.keyspace;
  const run = (o: JournalOp): void => {
    const b = (s: string): Buffer => Buffer.from(s);
    try {
      switch (o.op) {
        case 'set': ks.set(b(o.key), b(o.value), o.expiresAt); break;
        case 'del': ks.delete(b(o.key), Date.now()); break;
        case 'expire': ks.setExpiry(b(o.key), o.expiresAt, Date.now()); break;
        case 'get': ks.get(b(o.key), o.now); break;
        case 'fail': ks.set(b(FAIL_KEY), b('x'), null); break;
        case 'abort':
          ks.atomically(() => {
            ks.set(b(o.key), b('aborted'), null);
            throw new Error('abort');
          });
          break;
        case 'commit': engine.commitNow(); break;
      }
    } catch {
      // The turn's failure reaches the barrier; aborted blocks are meant to throw.
    }
  };
  for (let i = 0; i < script.turns.length; i++) {
    for (const o of script.turns[i]!) run(o);
    const ok = await engine.commits.barrier().then(() => true, () => false);
    fs.writeSync(1, `${ok ? 'ACK' : 'FAIL'} ${i}\n`);
  }
  if (script.crashAfter === null) {
    engine.close();
    return;
  }
  for (const o of script.crashAfter) run(o);
  process.kill(process.pid, 'SIGKILL');
}

await main();
