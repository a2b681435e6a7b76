/**
 * The audit log's hash chain (docs/security.md "Audit log"). Pure: no I/O.
 *
 * A record is one JSON line. Its body is the JSON object of its fields in a
 * fixed order, `seq` first and `prev` (the previous record's hash; the
 * genesis value for seq 1) last; the line is that body with
 * `,"hash":"<sha256 of the body text>"` appended before the closing brace.
 * The hash is over the exact text, so verification never re-serialises
 * (JSON key order and number spelling cannot make a good record look bad),
 * and since `prev` is inside the hashed text, editing, removing or
 * reordering any record breaks the chain at that record or the next.
 * Cutting records off the end is what a chain cannot show by itself: the
 * last seq and hash verify reports are what to compare with a copy kept elsewhere.
 */
import { createHash } from 'node:crypto';

/** `prev` of the first record of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

export interface ChainHead {
  /** The last record's sequence number (0: no record yet). */
  readonly seq: number;
  /** The last record's hash (GENESIS_HASH: no record yet). */
  readonly hash: string;
}

export const GENESIS: ChainHead = { seq: 0, hash: GENESIS_HASH };

export type AuditOutcome = 'success' | 'failure';

/** What one record says: who did what from where, and how it ended. */
export interface AuditFields {
  /** ISO-8601 UTC. */
  readonly time: string;
  /** The process that wrote it: a node name, or "controller". */
  readonly source: string;
  /** What happened, e.g. "auth", "acl", "command", "admin", "control". */
  readonly event: string;
  /** The user it ran as or claimed to be (null: unknown, e.g. a bus peer). */
  readonly user: string | null;
  /** The client's address (host:port), null when there is none. */
  readonly remote: string | null;
  readonly outcome: AuditOutcome;
  /** The action's particulars (command name, route, arguments without secrets, error). */
  readonly detail: Readonly<Record<string, unknown>>;
}

export interface AuditRecord extends AuditFields {
  readonly seq: number;
  readonly prev: string;
  readonly hash: string;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

const LINE = /^(\{.*),"hash":"([0-9a-f]{64})"\}$/;

/** The line (no newline) of the record after `head`, and the new head. */
export function sealRecord(head: ChainHead, f: AuditFields): { line: string; head: ChainHead } {
  const seq = head.seq + 1;
  const body = JSON.stringify({
    seq, time: f.time, source: f.source, event: f.event, user: f.user, remote: f.remote, outcome: f.outcome, detail: f.detail, prev: head.hash,
  });
  const hash = sha256(body);
  return { line: `${body.slice(0, -1)},"hash":"${hash}"}`, head: { seq, hash } };
}

/** A line as a record whose hash matches its text, or why it is not one. */
export function openRecord(line: string): AuditRecord | string {
  const m = LINE.exec(line);
  if (m === null) return 'not an audit record (no trailing "hash" field)';
  const body = `${m[1]!}}`;
  if (sha256(body) !== m[2]) return 'its hash does not match its content (the record was edited)';
  let o: unknown;
  try {
    o = JSON.parse(body);
  } catch {
    return 'not valid JSON';
  }
  if (typeof o !== 'object' || o === null) return 'not a JSON object';
  const r = o as Record<string, unknown>;
  if (!Number.isSafeInteger(r.seq) || (r.seq as number) < 1) return 'no valid "seq"';
  if (typeof r.prev !== 'string' || !/^[0-9a-f]{64}$/.test(r.prev)) return 'no valid "prev"';
  return { ...(r as unknown as AuditFields), seq: r.seq as number, prev: r.prev, hash: m[2]! };
}

/** The head a writer continues from, given the file's last line (null: it is not a record). */
export function headOf(line: string): ChainHead | null {
  const r = openRecord(line);
  return typeof r === 'string' ? null : { seq: r.seq, hash: r.hash };
}

export type ChainVerdict =
  | { readonly ok: true; readonly records: number; readonly first: ChainHead | null; readonly head: ChainHead }
  | { readonly ok: false; readonly records: number; readonly line: number; readonly seq: number | null; readonly reason: string };

export interface VerifyOptions {
  /**
   * Where the chain must pick up: GENESIS (the default) for a file that
   * starts the chain, the previous file's head for a rotated file, or
   * 'any' to accept whatever the first record continues from.
   */
  readonly after?: ChainHead | 'any';
  /** Line number of lines[0] (1-based), for files checked one after another. */
  readonly firstLine?: number;
}

/**
 * Checks lines (no newlines; a last empty line from a trailing newline is
 * ignored) and names the first record that breaks the chain.
 */
export function verifyChain(lines: readonly string[], opts: VerifyOptions = {}): ChainVerdict {
  const after = opts.after ?? GENESIS;
  const firstLine = opts.firstLine ?? 1;
  const n = lines.length > 0 && lines[lines.length - 1] === '' ? lines.length - 1 : lines.length;
  let head: ChainHead | null = after === 'any' ? null : after;
  let first: ChainHead | null = null;
  for (let i = 0; i < n; i++) {
    const fail = (seq: number | null, reason: string): ChainVerdict => ({ ok: false, records: i, line: firstLine + i, seq, reason });
    const r = openRecord(lines[i]!);
    if (typeof r === 'string') return fail(seqGuess(lines[i]!), r);
    if (head !== null && r.seq !== head.seq + 1) {
      return fail(r.seq, `seq ${r.seq} where ${head.seq + 1} was expected (a record before it was removed, or records were reordered)`);
    }
    if (head !== null && r.prev !== head.hash) {
      return fail(r.seq, head.seq === 0
        ? 'its "prev" is not the genesis value (the records before it were removed, or the file continues a rotated one: give that file first)'
        : `its "prev" is not the hash of record ${head.seq} (a record before it was replaced)`);
    }
    first ??= { seq: r.seq, hash: r.hash };
    head = { seq: r.seq, hash: r.hash };
  }
  return { ok: true, records: n, first, head: head ?? (after === 'any' ? GENESIS : after) };
}

/** The seq a damaged line claims, if it still says one. */
function seqGuess(line: string): number | null {
  const m = /^\{"seq":(\d{1,15}),/.exec(line);
  return m === null ? null : Number(m[1]);
}
