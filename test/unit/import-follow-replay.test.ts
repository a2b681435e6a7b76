/**
 * A resumed `irisctl import --follow` (issue #19) replays the stream from
 * its last checkpoint, so commands after it reach IrisDB twice. This checks
 * the rule that makes that harmless (operator/import/repl-commands.ts and
 * source-refresh.ts) against a model: a small Redis of strings executes
 * random commands and records what it propagates (as Redis does: only
 * writes that happened, verbatim); the import applies it to a model target
 * in batches as follow.ts does — the keys each batch writes, read back
 * (source-refresh.ts readBack) from the source as it is some time later,
 * written or deleted; it crashes at a random point and resumes from an
 * earlier checkpoint. The target must end equal to the source. The same
 * run forwarding the commands verbatim (what --follow did before) is shown
 * to fail, so the property is not vacuous.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { planReplicated, writtenKeys } from '../../operator/import/repl-commands.js';
import type { SourcePipeline } from '../../operator/import/resp-source.js';
import { readBack } from '../../operator/import/source-refresh.js';

interface Entry { v: string; at: number | null }
type Store = Map<string, Entry>;

/** Executes one command on a store (the clock stands at 0, so no key expires); true when it wrote (Redis propagates only then). */
function exec(s: Store, argv: readonly string[]): boolean {
  const [name, k = '', a = ''] = argv;
  const cur = s.get(k);
  switch (name!.toUpperCase()) {
    case 'SET': {
      let at: number | null = null;
      let nx = false, xx = false, keep = false;
      const o = argv.slice(3);
      for (let i = 0; i < o.length; i++) {
        const x = o[i]!.toUpperCase();
        if (x === 'NX') nx = true;
        else if (x === 'XX') xx = true;
        else if (x === 'KEEPTTL') keep = true;
        else if (x === 'PXAT' || x === 'PX') at = Number(o[++i]);
      }
      if ((nx && cur !== undefined) || (xx && cur === undefined)) return false;
      s.set(k, { v: a, at: keep ? cur?.at ?? null : at });
      return true;
    }
    case 'SETNX':
      if (cur !== undefined) return false;
      s.set(k, { v: a, at: null });
      return true;
    case 'GETSET':
      s.set(k, { v: a, at: null });
      return true;
    case 'INCR': {
      const n = cur === undefined ? 0 : /^-?\d+$/.test(cur.v) ? Number(cur.v) : NaN;
      if (Number.isNaN(n)) return false;
      s.set(k, { v: String(n + 1), at: cur?.at ?? null });
      return true;
    }
    case 'APPEND':
      s.set(k, { v: (cur?.v ?? '') + a, at: cur?.at ?? null });
      return true;
    case 'DEL':
      return s.delete(k);
    case 'RENAME':
      if (cur === undefined) return false;
      s.delete(k);
      s.set(a, cur);
      return true;
    case 'PEXPIREAT':
      if (cur === undefined) return false;
      s.set(k, { v: cur.v, at: Number(a) });
      return true;
    case 'PERSIST':
      if (cur === undefined || cur.at === null) return false;
      s.set(k, { v: cur.v, at: null });
      return true;
    default:
      throw new Error(`model: ${name}`);
  }
}

const key = fc.constantFrom('a', 'b', 'c');
const val = fc.constantFrom('1', '7', 'x', 'yz');
const ms = fc.integer({ min: 1000, max: 9000 }).map(String);
const command: fc.Arbitrary<string[]> = fc.oneof(
  fc.tuple(key, val).map(([k, v]) => ['SET', k, v]),
  fc.tuple(key, val, ms).map(([k, v, t]) => ['SET', k, v, 'PXAT', t]),
  fc.tuple(key, val, fc.constantFrom('NX', 'XX', 'KEEPTTL')).map(([k, v, o]) => ['SET', k, v, o]),
  fc.tuple(key, val).map(([k, v]) => ['SETNX', k, v]),
  fc.tuple(key, val).map(([k, v]) => ['GETSET', k, v]),
  key.map((k) => ['INCR', k]),
  key.map((k) => ['INCR', k]),
  fc.tuple(key, val).map(([k, v]) => ['APPEND', k, v]),
  key.map((k) => ['DEL', k]),
  fc.tuple(key, key).filter(([x, y]) => x !== y).map(([x, y]) => ['RENAME', x, y]),
  fc.tuple(key, ms).map(([k, t]) => ['PEXPIREAT', k, t]),
  key.map((k) => ['PERSIST', k]),
);

const b = (xs: readonly string[]): Buffer[] => xs.map((x) => Buffer.from(x));

/** The source as the import's reader sees it: GET and PTTL answered from a snapshot (the clock stands at 0, so PTTL is the absolute expiry). */
function snapshotPipeline(snapshot: Store): SourcePipeline {
  return {
    pipeline: async (cmds) => cmds.map(([name, k]) => {
      const e = snapshot.get(k!.toString());
      if (name!.toString() === 'GET') return e === undefined ? null : Buffer.from(e.v);
      return e === undefined ? -2 : e.at === null ? -1 : e.at;
    }),
  };
}

/** Applies stream[from, to) to the target as follow.ts does: the keys the batch writes, read back from `snapshot` (the source some time after the batch). */
async function applyBatch(target: Store, stream: readonly string[][], from: number, to: number, snapshot: Store, verbatim: boolean): Promise<void> {
  if (verbatim) {
    for (const argv of stream.slice(from, to)) exec(target, argv);
    return;
  }
  const keys = new Map<string, Buffer>();
  for (const argv of stream.slice(from, to)) for (const k of writtenKeys(planReplicated(b(argv), 0, 0))) keys.set(k.toString(), k);
  for (const r of await readBack(snapshotPipeline(snapshot), [...keys.values()])) {
    if (r.value === null) target.delete(r.key.toString());
    else target.set(r.key.toString(), { v: r.value.toString(), at: r.pttl > 0 ? r.pttl : null });
  }
}

/** The target after a first run that crashes at `crash`, and a resumed run from checkpoint `cp` to the end; batches end at `cuts`. */
async function importWithCrash(stream: string[][], snapshots: Store[], cp: number, crash: number, cuts: number[], lateness: number[], verbatim: boolean): Promise<Store> {
  const target: Store = new Map();
  const run = async (from: number, to: number): Promise<void> => {
    const ends = [...new Set([...cuts.filter((c) => c > from && c < to), to])].sort((x, y) => x - y);
    let start = from;
    for (const [i, end] of ends.entries()) {
      // The source has moved on by the time the batch's keys are read back (never past what exists).
      const seen = Math.min(stream.length, end + (lateness[i % lateness.length] ?? 0));
      await applyBatch(target, stream, start, end, snapshots[seen]!, verbatim);
      start = end;
    }
  };
  await run(0, crash);
  await run(cp, stream.length);
  return target;
}

function propagatedRun(cmds: readonly string[][]): { stream: string[][]; snapshots: Store[] } {
  const source: Store = new Map();
  const stream: string[][] = [];
  const snapshots: Store[] = [new Map()];
  for (const c of cmds) {
    if (!exec(source, c)) continue;
    stream.push(c);
    snapshots.push(new Map(source));
  }
  return { stream, snapshots };
}

const sorted = (s: Store): [string, Entry][] => [...s.entries()].sort(([x], [y]) => x.localeCompare(y));

describe('import --follow: replaying the stream after a resume is harmless (issue #19)', () => {
  const scenario = fc.record({
    cmds: fc.array(command, { minLength: 1, maxLength: 40 }),
    cp: fc.nat(), crash: fc.nat(),
    cuts: fc.array(fc.nat(40), { maxLength: 8 }),
    lateness: fc.array(fc.nat(5), { minLength: 1, maxLength: 4 }),
  });

  it('the target ends equal to the source wherever the import crashed and resumed', async () => {
    await fc.assert(fc.asyncProperty(scenario, async ({ cmds, cp, crash, cuts, lateness }) => {
      const { stream, snapshots } = propagatedRun(cmds);
      const n = stream.length;
      const c = crash % (n + 1);
      const i = cp % (c + 1); // the checkpoint is at or before the crash
      expect(sorted(await importWithCrash(stream, snapshots, i, c, cuts, lateness, false))).to.deep.equal(sorted(snapshots[n]!));
    }), { numRuns: 3000 });
  });

  it('forwarding the commands verbatim does not survive a replay (the property can fail)', async () => {
    const found = await fc.check(fc.asyncProperty(scenario, async ({ cmds, cp, crash, cuts, lateness }) => {
      const { stream, snapshots } = propagatedRun(cmds);
      const n = stream.length;
      const c = crash % (n + 1);
      const i = cp % (c + 1);
      expect(sorted(await importWithCrash(stream, snapshots, i, c, cuts, lateness, true))).to.deep.equal(sorted(snapshots[n]!));
    }), { numRuns: 3000 });
    expect(found.failed).to.equal(true);
  });
});
