/**
 * Resolves NodeConfig from defaults < config file < IRIS_* environment <
 * command-line flags, validating every value against the settings table.
 * Pure apart from reading the config file through the injected readFile.
 */
import { parseHostPatterns } from '../../common/http-browser-guard.js';
import { NODE_NAME, parsePeerAddress, splitNames } from '../replication/peer-address.js';
import { SETTINGS, envName, flagName, type NodeConfig, type SettingDef } from './schema.js';
import { INVALID_EVENT_CLASS, parseKeyspaceEventFlags } from '../pubsub/keyspace-flags.js';
import { tlsSettingsError } from '../tls/settings.js';
import { tlsPolicyError } from '../tls/policy.js';
import tls from 'node:tls';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export type ConfigSource = 'default' | 'file' | 'env' | 'flag';

export interface LoadedConfig {
  config: NodeConfig;
  /** Where each setting's value came from (for the startup log). */
  sources: Record<keyof NodeConfig, ConfigSource>;
  /** IRIS_* variables that name no setting (logged as a warning, not fatal). */
  unknownEnv: string[];
}

export type CliAction = { kind: 'run'; loaded: LoadedConfig } | { kind: 'help'; text: string } | { kind: 'version' };

/** Size units as redis.conf reads them: k = 1000, kb = 1024, m = 10^6, mb = 1024^2, ... */
const BYTE_UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1e3, kb: 1024, m: 1e6, mb: 1024 ** 2, g: 1e9, gb: 1024 ** 3,
  kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3,
};

/** Parses "1048576", "64mb", "64MiB", "1gb"; null if it is not a size. */
export function parseBytes(text: string): number | null {
  const m = /^\s*(\d+)\s*([a-zA-Z]*)\s*$/.exec(text);
  if (!m) return null;
  const factor = BYTE_UNITS[m[2]!.toLowerCase()];
  if (factor === undefined) return null;
  const n = Number(m[1]) * factor;
  return Number.isSafeInteger(n) ? n : null;
}

function describeExpected(def: SettingDef): string {
  switch (def.type) {
    case 'int': return `an integer from ${def.min} to ${def.max}`;
    case 'bytes': return `a size from ${def.min} to ${def.max} bytes (units: k, kb, m, mb, g, gb, kib, mib, gib)`;
    case 'enum': return `one of ${def.values!.join(', ')}`;
    case 'bool': return 'true or false';
    case 'string': return 'a string';
  }
}

function coerce(def: SettingDef, raw: unknown, where: string): string | number | boolean {
  const fail = (): never => {
    throw new ConfigError(`invalid value ${JSON.stringify(raw)} for ${where}: expected ${describeExpected(def)}`);
  };
  switch (def.type) {
    case 'string':
      if (typeof raw !== 'string') fail();
      return raw as string;
    case 'bool':
      if (typeof raw === 'boolean') return raw;
      if (raw === 'true' || raw === 'yes' || raw === '1') return true;
      if (raw === 'false' || raw === 'no' || raw === '0') return false;
      return fail();
    case 'enum':
      if (typeof raw !== 'string' || !def.values!.includes(raw)) fail();
      return raw as string;
    case 'int':
    case 'bytes': {
      let n: number | null;
      if (typeof raw === 'number') n = Number.isSafeInteger(raw) ? raw : null;
      else if (typeof raw === 'string') n = def.type === 'bytes' ? parseBytes(raw) : /^\s*-?\d+\s*$/.test(raw) ? Number(raw) : null;
      else n = null;
      if (n === null || !Number.isSafeInteger(n)) return fail();
      if ((def.min !== undefined && n < def.min) || (def.max !== undefined && n > def.max)) return fail();
      return n;
    }
  }
}

export interface LoadInput {
  argv: readonly string[];
  env: Readonly<Record<string, string | undefined>>;
  readFile(path: string): string;
}

/** Parses the command line; `--help` and `--version` short-circuit. */
export function parseCli(input: LoadInput): CliAction {
  const byFlag = new Map<string, SettingDef>(SETTINGS.map((d) => [flagName(d), d]));
  const flagValues = new Map<SettingDef, string>();
  const args = [...input.argv];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') return { kind: 'help', text: helpText() };
    if (arg === '--version' || arg === '-v') return { kind: 'version' };
    const eq = arg.indexOf('=');
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const def = byFlag.get(name);
    if (!def) throw new ConfigError(`unknown option ${JSON.stringify(name)} (see --help)`);
    let value: string | undefined;
    if (eq !== -1) value = arg.slice(eq + 1);
    else if (def.type === 'bool' && (args[i + 1] === undefined || args[i + 1]!.startsWith('--'))) value = 'true';
    else value = args[++i];
    if (value === undefined) throw new ConfigError(`option ${name} needs a value: ${describeExpected(def)}`);
    flagValues.set(def, value);
  }
  return { kind: 'run', loaded: resolve(flagValues, input) };
}

function resolve(flagValues: Map<SettingDef, string>, input: LoadInput): LoadedConfig {
  const values: Record<string, string | number | boolean> = {};
  const sources = {} as Record<keyof NodeConfig, ConfigSource>;
  for (const def of SETTINGS) {
    values[def.key] = def.default;
    sources[def.key] = 'default';
  }

  const configDef = SETTINGS.find((d) => d.key === 'configFile')!;
  const configPath = flagValues.get(configDef) ?? input.env[envName(configDef)] ?? '';
  if (configPath !== '') {
    let parsed: unknown;
    let text: string;
    try {
      text = input.readFile(configPath);
    } catch (err) {
      throw new ConfigError(`cannot read config file ${configPath}: ${(err as Error).message}`);
    }
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ConfigError(`config file ${configPath} is not valid JSON: ${(err as Error).message}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new ConfigError(`config file ${configPath} must hold a JSON object of settings`);
    }
    for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
      const def = SETTINGS.find((d) => d.key === k);
      if (!def) throw new ConfigError(`config file ${configPath}: unknown setting ${JSON.stringify(k)}`);
      values[k] = coerce(def, v, `setting "${k}" in ${configPath}`);
      sources[def.key] = 'file';
    }
    values.configFile = configPath;
  }

  const known = new Set(SETTINGS.map((d) => envName(d)));
  const unknownEnv = Object.keys(input.env).filter((k) => k.startsWith('IRIS_') && !known.has(k)).sort();
  for (const def of SETTINGS) {
    const raw = input.env[envName(def)];
    if (raw === undefined) continue;
    values[def.key] = coerce(def, raw, `environment variable ${envName(def)}`);
    sources[def.key] = 'env';
  }
  for (const [def, raw] of flagValues) {
    values[def.key] = coerce(def, raw, `option ${flagName(def)}`);
    sources[def.key] = 'flag';
  }

  const config = values as unknown as NodeConfig;
  validateCrossField(config);
  return { config, sources, unknownEnv };
}

function validateCrossField(c: NodeConfig): void {
  const ports = [['port', c.port], ['httpPort', c.httpPort], ['busPort', c.busPort], ['tlsPort', c.tlsPort]] as const;
  for (let i = 0; i < ports.length; i++) {
    for (let j = i + 1; j < ports.length; j++) {
      if (ports[i]![1] !== 0 && ports[i]![1] === ports[j]![1]) {
        throw new ConfigError(`${ports[i]![0]} and ${ports[j]![0]} are both ${ports[i]![1]}: each server needs its own port`);
      }
    }
  }
  const tlsError = tlsSettingsError(c) ?? tlsPolicyError(c, tls.DEFAULT_CIPHERS);
  if (tlsError !== null) throw new ConfigError(tlsError);
  if (c.maxKeyBytes > c.maxBulkBytes) throw new ConfigError(`maxKeyBytes (${c.maxKeyBytes}) exceeds maxBulkBytes (${c.maxBulkBytes})`);
  if (c.maxValueBytes > c.maxBulkBytes) throw new ConfigError(`maxValueBytes (${c.maxValueBytes}) exceeds maxBulkBytes (${c.maxBulkBytes}): such values could never be sent`);
  if (c.maxBulkBytes > c.maxQueryBufferBytes) throw new ConfigError(`maxBulkBytes (${c.maxBulkBytes}) exceeds maxQueryBufferBytes (${c.maxQueryBufferBytes})`);
  if (c.sqliteCacheBytes > 0 && c.sqliteCacheBytes < 1024 * 1024) throw new ConfigError(`invalid SQLite page cache ${c.sqliteCacheBytes} bytes (--sqlite-cache-bytes, IRIS_SQLITE_CACHE_BYTES, sqliteCacheBytes): expected 0 (sized from the memory limit) or at least 1 MiB`);
  if (c.dataDir.trim() === '') throw new ConfigError('dataDir must not be empty');
  try {
    parseHostPatterns(c.httpAllowedHosts);
  } catch (err) {
    throw new ConfigError(`invalid httpAllowedHosts: ${(err as Error).message}`);
  }
  if (parseKeyspaceEventFlags(c.notifyKeyspaceEvents) === null) {
    throw new ConfigError(`invalid notifyKeyspaceEvents ${JSON.stringify(c.notifyKeyspaceEvents)}: ${INVALID_EVENT_CLASS}`);
  }
  if (c.role === 'replica' && c.replicaOf === '') throw new ConfigError('role replica needs replicaOf (name@host:busPort of the primary)');
  if (c.replicaOf !== '') {
    const peer = parsePeerAddress(c.replicaOf);
    if (typeof peer === 'string') throw new ConfigError(`invalid replicaOf ${JSON.stringify(c.replicaOf)}: ${peer}`);
  }
  for (const name of splitNames(c.replicas)) {
    if (!NODE_NAME.test(name)) throw new ConfigError(`invalid replica name ${JSON.stringify(name)} in replicas: expected letters, digits, '.', '_' or '-'`);
  }
}

export function helpText(): string {
  const lines = [
    'irisdb-node — one IrisDB storage node (Redis protocol + HTTP/JSON, SQLite on disk)',
    '',
    'Usage: irisdb-node [options]',
    '',
    'Every option can also be set with the IRIS_* variable shown, or in a JSON file given by --config.',
    'Precedence: flag > environment > config file > default. Sizes accept k, kb, m, mb, g, gb units.',
    '',
  ];
  for (const def of SETTINGS) {
    const dflt = def.default === '' ? '' : ` (default ${def.default})`;
    lines.push(`  ${flagName(def)} <${def.type === 'enum' ? def.values!.join('|') : def.type}>`);
    lines.push(`      ${envName(def)} — ${def.help}${dflt}`);
  }
  lines.push('  --help      show this help', '  --version   print the version', '');
  return lines.join('\n');
}
