/** `irisctl re-encrypt` flags as a command. Pure. */
import type { ControlSource } from './args.js';
import { parseDuration } from './duration.js';
import { UsageError } from './errors.js';

export interface ReencryptCommand {
  readonly kind: 're-encrypt';
  readonly source: ControlSource;
  /** Follow every node's job until it finishes. */
  readonly wait: boolean;
  readonly timeoutMs: number;
  readonly json: boolean;
}

const DEFAULT_TIMEOUT_MS = 60 * 60 * 1000;

export function reencryptCommand(v: Readonly<Record<string, string | boolean | undefined>>, source: ControlSource): ReencryptCommand {
  let timeoutMs = DEFAULT_TIMEOUT_MS;
  if (typeof v.timeout === 'string') {
    const ms = parseDuration(v.timeout);
    if (ms === null || ms <= 0) throw new UsageError(`--timeout must be a duration such as 90s, 30m or 1h (got "${v.timeout}")`, 're-encrypt');
    timeoutMs = ms;
  }
  return { kind: 're-encrypt', source, wait: v.wait === true, timeoutMs, json: v.json === true };
}
