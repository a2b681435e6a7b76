/**
 * The local cluster's directory (default ./.irisdb) and its ports:
 *
 *   D/controller.json   the controller's state (FileStateStore)
 *   D/local.json        the local platform's registry (local-state.ts)
 *   D/token             the cluster-internal admin token (0600)
 *   D/nodes/<name>/     each node's data directory
 *   D/logs/<name>.log   each node's stdout+stderr; D/logs/controller.log
 *
 * Node k (an index allocated once per name) listens on RESP basePort+k,
 * HTTP basePort+1000+k and bus basePort+10000+k; the control API on
 * basePort+2000. Paths and ports are pure; the file helpers at the end
 * (atomic write, token, read-if-exists) are the only I/O here.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NODE_NAME } from '../../common/cluster-map.js';

export const DEFAULT_DIR = '.irisdb';
export const DEFAULT_BASE_PORT = 7000;

/** Offsets from the base port. Node indexes stay below HTTP_OFFSET so the ranges never overlap. */
export const HTTP_OFFSET = 1000;
export const CONTROL_OFFSET = 2000;
export const BUS_OFFSET = 10000;
/** `local up --tls --tls-keep-plain`: node k's plain RESP port (base+3000+k) beside its TLS port (base+k). */
export const PLAIN_BESIDE_TLS_OFFSET = 3000;
/** Node indexes run 0..MAX_NODES-1 (RESP base..base+999, HTTP base+1000..base+1999). */
export const MAX_NODES = HTTP_OFFSET;
/** Highest base port that leaves room for the last node's bus port. */
export const MAX_BASE_PORT = 65535 - BUS_OFFSET - (MAX_NODES - 1);
/** Node names become file names (`<name>.log`): keep them well under NAME_MAX. */
export const MAX_NODE_NAME_LENGTH = 200;

export class LayoutError extends Error {
  constructor(message: string, readonly file?: string) {
    super(message);
    this.name = 'LayoutError';
  }
}

export interface ClusterPaths {
  readonly dir: string;
  readonly controllerState: string;
  readonly localState: string;
  readonly token: string;
  readonly nodesDir: string;
  readonly logsDir: string;
  readonly controllerLog: string;
}

/** Every path under the cluster directory, absolute (node command lines are matched against them). */
export function clusterPaths(dir: string): ClusterPaths {
  const d = path.resolve(dir);
  return {
    dir: d,
    controllerState: path.join(d, 'controller.json'),
    localState: path.join(d, 'local.json'),
    token: path.join(d, 'token'),
    nodesDir: path.join(d, 'nodes'),
    logsDir: path.join(d, 'logs'),
    controllerLog: path.join(d, 'logs', 'controller.log'),
  };
}

export function nodeDataDir(dir: string, name: string): string {
  return path.join(clusterPaths(dir).nodesDir, checkNodeName(name));
}

export function nodeLogFile(dir: string, name: string): string {
  return path.join(clusterPaths(dir).logsDir, `${checkNodeName(name)}.log`);
}

/** `name` if it is a valid node name (no path separators, no leading dot); LayoutError otherwise. */
export function checkNodeName(name: string): string {
  if (typeof name !== 'string' || !NODE_NAME.test(name) || name.length > MAX_NODE_NAME_LENGTH) {
    throw new LayoutError(`invalid node name ${JSON.stringify(name)}: letters, digits, '.', '_' and '-', starting with a letter or digit, at most ${MAX_NODE_NAME_LENGTH} characters`);
  }
  return name;
}

export function checkBasePort(basePort: number): number {
  if (!Number.isInteger(basePort) || basePort < 1 || basePort > MAX_BASE_PORT) {
    throw new LayoutError(`base port must be an integer from 1 to ${MAX_BASE_PORT} (node k uses base+k, base+${HTTP_OFFSET}+k and base+${BUS_OFFSET}+k), got ${String(basePort)}`);
  }
  return basePort;
}

export function checkNodeIndex(index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_NODES) {
    throw new LayoutError(`node index must be an integer from 0 to ${MAX_NODES - 1}, got ${String(index)}`);
  }
  return index;
}

export interface NodePorts {
  /** RESP */
  readonly port: number;
  readonly httpPort: number;
  readonly busPort: number;
}

export function nodePorts(basePort: number, index: number): NodePorts {
  checkBasePort(basePort);
  checkNodeIndex(index);
  return { port: basePort + index, httpPort: basePort + HTTP_OFFSET + index, busPort: basePort + BUS_OFFSET + index };
}

/** The plain RESP port of node `index` in a cluster that serves TLS on nodePorts().port and plain text beside it. */
export function plainPortBesideTls(basePort: number, index: number): number {
  checkBasePort(basePort);
  return basePort + PLAIN_BESIDE_TLS_OFFSET + checkNodeIndex(index);
}

export function controlPort(basePort: number): number {
  return checkBasePort(basePort) + CONTROL_OFFSET;
}

/** The lowest index not in `used` (indexes are never shared while their names exist). */
export function lowestFreeIndex(used: Iterable<number>): number {
  const taken = new Set(used);
  for (let i = 0; i < MAX_NODES; i++) if (!taken.has(i)) return i;
  throw new LayoutError(`no free node index: a local cluster holds at most ${MAX_NODES} nodes`);
}

/**
 * Replaces `file` with `data` so that a crash at any moment leaves either
 * the old or the new content: temp file, fsync, rename, fsync of the
 * directory (so the rename itself is durable).
 */
export async function writeFileAtomic(file: string, data: string, mode = 0o644): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await fs.promises.open(tmp, 'w', mode);
  try {
    await fh.writeFile(data, 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.promises.rename(tmp, file);
  } catch (err) {
    await fs.promises.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(path.dirname(file));
}

async function syncDir(dir: string): Promise<void> {
  const dh = await fs.promises.open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

const TOKEN = /^[0-9a-f]{64}$/;

/**
 * The cluster's admin token: D/token, created once (random 32 bytes, hex,
 * mode 0600). Created complete under a temp name and hard-linked into
 * place, so concurrent callers agree on one token and never read half a file.
 */
export async function readOrCreateToken(dir: string): Promise<string> {
  const { dir: d, token: file } = clusterPaths(dir);
  await fs.promises.mkdir(d, { recursive: true });
  const existing = await readToken(file);
  if (existing !== null) return existing;
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
  const fh = await fs.promises.open(tmp, 'wx', 0o600);
  try {
    await fh.writeFile(randomBytes(32).toString('hex') + '\n', 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await fs.promises.link(tmp, file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    await fs.promises.rm(tmp, { force: true });
  }
  await syncDir(d);
  const token = await readToken(file);
  if (token === null) throw new LayoutError(`${file} vanished while it was being created`, file);
  return token;
}

async function readToken(file: string): Promise<string | null> {
  const text = await readFileIfExists(file);
  if (text === null) return null;
  const token = text.trim();
  if (!TOKEN.test(token)) throw new LayoutError(`${file} is corrupt: expected 64 hex characters (delete it only if no node of this cluster is running)`, file);
  return token;
}

/** A file's text, or null when it does not exist (any other error is thrown). */
export async function readFileIfExists(file: string): Promise<string | null> {
  try {
    return await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}
