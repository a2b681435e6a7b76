/**
 * The write journal against a plain model: random turns of sets, deletes,
 * expiries, lazy expiries, failed turns, rolled-back atomically() blocks and
 * batch commits run in a child process with the journal on, which is then
 * killed (-9, sometimes in the middle of a turn that was never
 * acknowledged); a few such lives in a row on one data directory. (A
 * commit op ends its turn early, so the model splits turns there.) After
 * every kill the reopened engine (recovery replays the journal) holds
 * exactly the model of the acknowledged turns, and its database passes
 * SQLite's integrity check.
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { openEngine } from '../../node/engine/open.js';
import { engineOptions } from '../support/engine-fixture.js';
import type { JournalChildScript, JournalOp } from '../support/journal-crash-child.js';

const CHILD = fileURLToPath(new URL('../support/journal-crash-child.js', import.meta.url));
const KEYS = ['a', 'b', 'c', 'd', 'e'];
const PAST = 1;
const FUTURE = 4_000_000_000_000;

type Model = Map<string, { value: string; expiresAt: number | null }>;

const live = (m: Model, key: string, now: number): string | null => {
  const e = m.get(key);
  return e === undefined || (e.expiresAt !== null && e.expiresAt <= now) ? null : e.value;
};

/**
 * A 'commit' op ends the turn early (the engine flushes it to commit the
 * batch): the ops are split there into turns of their own.
 */
function chunks(ops: readonly JournalOp[]): JournalOp[][] {
  const out: JournalOp[][] = [[]];
  for (const o of ops) {
    if (o.op === 'commit') out.push([]);
    else out[out.length - 1]!.push(o);
  }
  return out;
}

/** What a committed turn does to the model (a failed turn does nothing). */
function applyTurn(model: Model, turn: readonly JournalOp[], now: number): void {
  if (turn.some((o) => o.op === 'fail')) return;
  for (const o of turn) {
    switch (o.op) {
      case 'set': model.set(o.key, { value: o.value, expiresAt: o.expiresAt }); break;
      case 'del': model.delete(o.key); break;
      case 'expire': if (live(model, o.key, now) !== null) model.get(o.key)!.expiresAt = o.expiresAt; break;
      case 'get': {
        // A read at o.now deletes a key whose time has come by then (a logged delete).
        const e = model.get(o.key);
        if (e !== undefined && e.expiresAt !== null && e.expiresAt <= o.now) model.delete(o.key);
        break;
      }
      default: break; // abort (undone), commit, fail (the whole turn fails)
    }
  }
}

const key = fc.constantFrom(...KEYS);
const expiry = fc.constantFrom<number | null>(null, null, PAST, FUTURE);
const opArb: fc.Arbitrary<JournalOp> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('set' as const), key, value: fc.string({ maxLength: 12 }), expiresAt: expiry }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('del' as const), key }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('expire' as const), key, expiresAt: expiry }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('get' as const), key, now: fc.constant(FUTURE + 1) }) },
  { weight: 1, arbitrary: fc.constant({ op: 'fail' } as const) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('abort' as const), key }) },
  { weight: 1, arbitrary: fc.constant({ op: 'commit' } as const) },
);
const lifeArb = fc.record({
  turns: fc.array(fc.array(opArb, { minLength: 1, maxLength: 5 }), { maxLength: 12 }),
  crashAfter: fc.option(fc.array(opArb, { maxLength: 4 }), { freq: 5 }),
  fsync: fc.constantFrom('always' as const, 'batch' as const),
  maxTurns: fc.integer({ min: 1, max: 6 }),
});

function runLife(dir: string, script: JournalChildScript): string[] {
  const r = spawnSync(process.execPath, [CHILD, dir, JSON.stringify(script)], { encoding: 'utf8', timeout: 30000 });
  if (r.error !== undefined) throw r.error;
  const expected = script.crashAfter === null ? 0 : null;
  if (r.status !== expected) throw new Error(`child exited with ${r.status}/${r.signal}: ${r.stderr}`);
  return r.stdout.split('\n').filter((l) => l !== '');
}

/** The engine's live keys and values now, as the model shows them. */
function engineState(dir: string, now: number): { values: Record<string, string | null>; integrity: string[] } {
  const engine = openEngine(engineOptions(dir, { journal: { commitMs: 50 } }));
  try {
    const values: Record<string, string | null> = {};
    for (const k of [...KEYS, 'boom']) values[k] = engine.keyspace.get(Buffer.from(k), now)?.value.toString() ?? null;
    return { values, integrity: engine.integrityCheck() };
  } finally {
    engine.close();
  }
}

describe('engine: write journal against a model (kill -9 of a child process)', function () {
  this.timeout(300000);

  it('holds exactly the acknowledged turns after every crash', () => {
    fc.assert(
      fc.property(fc.array(lifeArb, { minLength: 1, maxLength: 3 }), (lives) => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-journal-model-'));
        try {
          const model: Model = new Map();
          for (const life of lives) {
            const lines = runLife(dir, life);
            expect(lines.length).to.equal(life.turns.length);
            // The turns run at Date.now() in the child; every expiry in the script is far from it either way.
            const now = Date.now();
            lines.forEach((line, i) => {
              const parts = chunks(life.turns[i]!);
              expect(line).to.equal(`${parts[parts.length - 1]!.some((o) => o.op === 'fail') ? 'FAIL' : 'ACK'} ${i}`);
              for (const part of parts) applyTurn(model, part, now);
            });
            // Before the kill: turns ended early by a commit did commit; the unfinished last one is lost.
            if (life.crashAfter !== null) for (const part of chunks(life.crashAfter).slice(0, -1)) applyTurn(model, part, now);
            const got = engineState(dir, now);
            expect(got.integrity).to.deep.equal(['ok']);
            const want: Record<string, string | null> = {};
            for (const k of [...KEYS, 'boom']) want[k] = live(model, k, now);
            expect(got.values).to.deep.equal(want);
          }
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
      }),
      { numRuns: 15 },
    );
  });
});
