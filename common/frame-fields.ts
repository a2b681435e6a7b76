/**
 * The field validator of the cluster bus's JSON control messages (the
 * replication and the slot-migration messages both use it). A peer is
 * another process, maybe another version, maybe not ours at all: every
 * field is checked and every failure is a FrameError naming the message,
 * the field (with its path inside nested objects) and what was expected,
 * and describing what came instead. Fields a parser does not read are
 * ignored (newer peers may add some). Pure: no I/O.
 */
import { NODE_NAME } from './cluster-map.js';

/** Malformed bus input: the message says what was wrong and where. The connection cannot continue. */
export class FrameError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FrameError';
  }
}

/** Tokens and human-readable messages: generous, but bounded. */
export const MAX_TEXT = 64 * 1024;
/** Hosts are DNS names or IP literals. */
const MAX_HOST = 255;

type Obj = Record<string, unknown>;

/** Field readers for one message; every error message starts with the message's name. */
export class FrameFields {
  constructor(
    readonly what: string,
    private readonly o: Obj,
    private readonly path = '',
  ) {}

  fail(field: string, expected: string, got: unknown): never {
    throw new FrameError(`${this.what}: field '${this.path}${field}' must be ${expected}, got ${describe(got)}`);
  }

  get(field: string): unknown {
    return Object.prototype.hasOwnProperty.call(this.o, field) ? this.o[field] : undefined;
  }

  uint(field: string, max = Number.MAX_SAFE_INTEGER): number {
    const v = this.get(field);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
      this.fail(field, max === Number.MAX_SAFE_INTEGER ? 'a non-negative safe integer' : `an integer in 0..${max}`, v);
    }
    return v;
  }

  /** A finite non-negative number (times may carry fractions of a millisecond). */
  num(field: string): number {
    const v = this.get(field);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) this.fail(field, 'a finite non-negative number', v);
    return v;
  }

  port(field: string): number {
    return this.uint(field, 65535);
  }

  str(field: string, opts: { max?: number; nonEmpty?: boolean } = {}): string {
    const v = this.get(field);
    const max = opts.max ?? MAX_TEXT;
    if (typeof v !== 'string' || v.length > max || (opts.nonEmpty === true && v.length === 0)) {
      this.fail(field, `a ${opts.nonEmpty === true ? 'non-empty ' : ''}string of at most ${max} characters`, v);
    }
    return v;
  }

  matching(field: string, re: RegExp, expected: string): string {
    const v = this.get(field);
    if (typeof v !== 'string' || !re.test(v)) this.fail(field, expected, v);
    return v;
  }

  /** A node (or shard) name; `allowEmpty`: '' too. */
  nodeName(field: string, allowEmpty = false): string {
    const v = this.get(field);
    if (typeof v !== 'string' || !((allowEmpty && v === '') || NODE_NAME.test(v))) {
      this.fail(field, `a node name (letters, digits, '.', '_', '-'; at most 253)${allowEmpty ? ' or an empty string' : ''}`, v);
    }
    return v;
  }

  host(field: string): string {
    return this.str(field, { max: MAX_HOST, nonEmpty: true });
  }

  oneOf<T extends string>(field: string, allowed: readonly T[]): T {
    const v = this.get(field);
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) this.fail(field, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`, v);
    return v as T;
  }

  array(field: string, maxItems: number): unknown[] {
    const v = this.get(field);
    if (!Array.isArray(v) || v.length > maxItems) this.fail(field, `an array of at most ${maxItems} items`, v);
    return v;
  }

  /** The nested object at `field` (index path for arrays), with the path carried into its errors. */
  nested(field: string, v: unknown = this.get(field)): FrameFields {
    if (!isObject(v)) this.fail(field, 'an object', v);
    return new FrameFields(this.what, v, `${this.path}${field}.`);
  }
}

/** The fields of a JSON object body; FrameError if the body is not JSON or not an object. */
export function parseJsonObject(body: Buffer, what: string): FrameFields {
  let v: unknown;
  try {
    v = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new FrameError(`${what}: body is not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(v)) throw new FrameError(`${what}: body must be a JSON object, got ${describe(v)}`);
  return new FrameFields(what, v);
}

export function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === undefined) return 'nothing (missing)';
  if (v === null) return 'null';
  if (Array.isArray(v)) return `an array of ${v.length} items`;
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return v.length > 40 ? `a ${v.length}-character string` : `the string ${JSON.stringify(v)}`;
  return `${typeof v} ${String(v)}`;
}
