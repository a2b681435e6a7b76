/**
 * A reader of the Prometheus text exposition format (what a node's
 * `/metrics` serves), for the dashboard's per-node charts: sample lines
 * only (comments and blank lines skipped), labels unescaped. Pure.
 */

export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export class PromTextError extends Error {
  constructor(readonly line: number, message: string) {
    super(`metrics line ${line}: ${message}`);
    this.name = 'PromTextError';
  }
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** Every sample of `text`; PromTextError naming the line when one is malformed. */
export function parsePromText(text: string): PromSample[] {
  const out: PromSample[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    out.push(parseLine(line, i + 1));
  }
  return out;
}

function parseLine(line: string, n: number): PromSample {
  const name = NAME.exec(line)?.[0];
  if (name === undefined) throw new PromTextError(n, 'expected a metric name');
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    rest = rest.slice(1);
    for (;;) {
      rest = rest.trimStart();
      if (rest.startsWith('}')) {
        rest = rest.slice(1);
        break;
      }
      const label = LABEL_NAME.exec(rest)?.[0];
      if (label === undefined) throw new PromTextError(n, 'expected a label name');
      rest = rest.slice(label.length).trimStart();
      if (!rest.startsWith('="')) throw new PromTextError(n, `expected ="..." after label ${label}`);
      const { value, after } = quoted(rest.slice(2), n);
      labels[label] = value;
      rest = after.trimStart();
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (!rest.startsWith('}')) throw new PromTextError(n, 'expected , or } after a label value');
    }
  }
  if (!/^[ \t]/.test(rest)) throw new PromTextError(n, 'expected a space before the value');
  const [valueText] = rest.trim().split(/[ \t]+/); // a timestamp may follow
  const value = sampleValue(valueText ?? '');
  if (value === null) throw new PromTextError(n, `"${(valueText ?? '').slice(0, 40)}" is not a sample value`);
  return { name, labels, value };
}

/** The label value up to its closing quote (\\, \" and \n unescaped) and what follows it. */
function quoted(s: string, n: number): { value: string; after: string } {
  let value = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '"') return { value, after: s.slice(i + 1) };
    if (c === '\\') {
      const e = s[++i];
      if (e === 'n') value += '\n';
      else if (e === '\\' || e === '"') value += e;
      else throw new PromTextError(n, 'bad escape in a label value');
    } else {
      value += c;
    }
  }
  throw new PromTextError(n, 'unterminated label value');
}

function sampleValue(t: string): number | null {
  if (t === '+Inf' || t === 'Inf') return Infinity;
  if (t === '-Inf') return -Infinity;
  if (t === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(t)) return null;
  return Number(t);
}

/** The sum of every sample named `name` (over all label sets); null when there is none. */
export function sumOf(samples: readonly PromSample[], name: string): number | null {
  let total: number | null = null;
  for (const s of samples) if (s.name === name) total = (total ?? 0) + s.value;
  return total;
}
