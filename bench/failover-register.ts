/**
 * The per-key register check of the failover-vs-redis benchmark: from a
 * recorded history of SETs and GETs (each key written by one client with
 * increasing sequences) and the value of every key read afterwards, counts
 * lost writes and stale reads. Pure: plain data in, counts out.
 *
 * With one sequential writer per key the register's value only moves
 * forward, so two rules are sound:
 * - a read is stale when it returns a sequence older than one whose write
 *   was acknowledged before the read was invoked;
 * - an acknowledged write is lost when the value read at the end is older
 *   (or missing). A lost write that a later write overwrote is not seen at
 *   the end, which is why the workload writes each key only a few times.
 * Except: a SET that got no OK (a client timeout) may still be applied
 * later, after newer writes (from the client's queue or a socket buffer), so
 * a read or end value that such a write explains is counted apart, as
 * `late`, neither stale nor lost.
 */

export interface WriteOp {
  readonly key: string;
  readonly seq: number;
  /** When the SET was sent (ms, one clock for the whole history). */
  readonly call: number;
  /** When OK came back; null: no OK (an error or a timeout: it may or may not have landed). */
  readonly ack: number | null;
}

export interface ReadOp {
  readonly key: string;
  /** The sequence the GET returned; null: the key was missing. */
  readonly seq: number | null;
  readonly call: number;
  readonly ret: number;
}

export interface RegisterCheck {
  readonly ackedWrites: number;
  readonly lostWrites: number;
  readonly reads: number;
  readonly staleReads: number;
  /** Reads and end values older than an acknowledged write but from a write without OK that may have landed late. */
  readonly late: number;
  /** Reads or final values of a sequence never sent for that key (a bug in the database or the workload). */
  readonly impossible: number;
  /** A few of the violations, human-readable. */
  readonly examples: readonly string[];
}

const MAX_EXAMPLES = 5;

interface KeyWrites {
  /** Acknowledged writes, ascending by acknowledgement time. */
  readonly acked: WriteOp[];
  /** Every write, ascending by send time. */
  readonly sent: WriteOp[];
  /** Sequences of writes that got no OK. */
  readonly unacked: Set<number>;
}

function byKey(writes: readonly WriteOp[]): Map<string, KeyWrites> {
  const out = new Map<string, KeyWrites>();
  for (const w of writes) {
    let k = out.get(w.key);
    if (k === undefined) out.set(w.key, (k = { acked: [], sent: [], unacked: new Set() }));
    k.sent.push(w);
    if (w.ack !== null) k.acked.push(w);
    else k.unacked.add(w.seq);
  }
  for (const k of out.values()) {
    k.acked.sort((a, b) => a.ack! - b.ack!);
    k.sent.sort((a, b) => a.call - b.call);
  }
  return out;
}

/** The highest sequence among `ops` (sorted ascending by `at`) with at(op) < t; -1 if none. */
function maxSeqBefore(ops: readonly WriteOp[], at: (w: WriteOp) => number, t: number): number {
  let best = -1;
  for (const w of ops) {
    if (at(w) >= t) break;
    best = Math.max(best, w.seq);
  }
  return best;
}

/**
 * Checks a history. `finalValue` gives each written key's sequence read
 * after the run (null: missing); keys it does not know are skipped for the
 * lost-write count.
 */
export function checkRegisters(writes: readonly WriteOp[], reads: readonly ReadOp[], finalValue: ReadonlyMap<string, number | null>): RegisterCheck {
  const keys = byKey(writes);
  const examples: string[] = [];
  const note = (s: string): void => { if (examples.length < MAX_EXAMPLES) examples.push(s); };
  let staleReads = 0;
  let impossible = 0;
  let late = 0;
  for (const r of reads) {
    const k = keys.get(r.key);
    const got = r.seq ?? -1;
    const ackedBefore = k === undefined ? -1 : maxSeqBefore(k.acked, (w) => w.ack!, r.call);
    const sentBefore = k === undefined ? -1 : maxSeqBefore(k.sent, (w) => w.call, r.ret);
    if (got > sentBefore) {
      impossible++;
      note(`${r.key}: a read returned seq ${got}, never sent before it returned (last sent ${sentBefore})`);
    } else if (got < ackedBefore && k!.unacked.has(got)) {
      late++;
    } else if (got < ackedBefore) {
      staleReads++;
      note(`${r.key}: a read returned ${r.seq === null ? 'nothing' : `seq ${got}`}, but seq ${ackedBefore} was acknowledged before it was sent`);
    }
  }
  let ackedWrites = 0;
  let lostWrites = 0;
  for (const [key, k] of keys) {
    ackedWrites += k.acked.length;
    if (!finalValue.has(key)) continue;
    const fin = finalValue.get(key) ?? -1;
    const lastSent = k.sent.reduce((m, w) => Math.max(m, w.seq), -1);
    if (fin > lastSent) {
      impossible++;
      note(`${key}: holds seq ${fin}, never sent (last sent ${lastSent})`);
      continue;
    }
    const lost = k.acked.filter((w) => w.seq > fin);
    if (lost.length > 0 && k.unacked.has(fin)) {
      late++;
    } else if (lost.length > 0) {
      lostWrites += lost.length;
      note(`${key}: holds ${fin < 0 ? 'nothing' : `seq ${fin}`} after the run; its writes: ${k.sent.map((w) => `${w.seq} ${w.ack === null ? 'no OK' : 'OK'}`).join(', ')}`);
    }
  }
  return { ackedWrites, lostWrites, reads: reads.length, staleReads, late, impossible, examples };
}
