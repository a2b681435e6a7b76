/**
 * A recorded history of per-key register operations, in the JSON shape the
 * linearizability checker (tools/linearizability) reads. Times are
 * nanoseconds from process.hrtime (monotonic). "info" is an unknown outcome
 * (a timeout, a dropped connection, NOREPLICAS after the write applied
 * locally): it may have taken effect, so it is never recorded as "fail".
 */
export type OpResult = 'ok' | 'fail' | 'info';
export type ReadLevel = 'strong' | 'default' | 'eventual';

export interface HistoryOp {
  client: number;
  key: string;
  f: 'read' | 'write' | 'cas';
  /** write: the value written; read: the value returned (null: no key). */
  value?: string | null;
  /** cas: the expected value (null: key absent). */
  from?: string | null;
  to?: string;
  /** cas with result ok: false when the compare failed. */
  applied?: boolean;
  result: OpResult;
  level?: ReadLevel;
  /** The node the request was sent to (reporting: e.g. acknowledgements from an isolated primary). */
  node?: string;
  call: number;
  return: number;
}

export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/** Collects operations; `begin` stamps the call time, `end` the return. */
export class History {
  readonly ops: HistoryOp[] = [];

  begin(op: Omit<HistoryOp, 'call' | 'return' | 'result'>): (result: OpResult, patch?: Partial<HistoryOp>) => void {
    const call = nowNs();
    return (result, patch = {}) => {
      this.ops.push({ ...op, ...patch, result, call, return: nowNs() });
    };
  }

  toJSON(): { ops: HistoryOp[] } {
    return { ops: this.ops };
  }

  counts(): Record<OpResult, number> {
    const c: Record<OpResult, number> = { ok: 0, fail: 0, info: 0 };
    for (const op of this.ops) c[op.result]++;
    return c;
  }
}
