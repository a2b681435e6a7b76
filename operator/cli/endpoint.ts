/**
 * Where the controller of a local cluster listens: `controller.url` in
 * DIR/local.json, which `irisctl local up` keeps current ({version: 1,
 * basePort, nodes, controller: {pid, url} | null}). Only that field is read;
 * the rest of the file belongs to the local platform. The control API's
 * token is DIR/token (or --token-file with --url).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { ControlClient } from '../control-api/client.js';
import { clusterPaths } from '../local/layout.js';
import type { ControlSource } from './args.js';
import { CliError } from './errors.js';

export const LOCAL_FILE = 'local.json';

/** The control URL recorded in a local.json's text; CliError saying what to do when there is none. Pure. */
export function controlUrlFromLocalJson(text: string, dir: string): string {
  const file = path.join(dir, LOCAL_FILE);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new CliError(`${file} is not valid JSON: is it a local cluster's directory?`);
  }
  if (typeof doc !== 'object' || doc === null || !('controller' in doc)) throw new CliError(`${file} has no "controller" field: is it a local cluster's directory?`);
  const controller = (doc as { controller: unknown }).controller;
  if (controller === null) throw new CliError(`the local cluster in ${dir} is not running: start it with \`irisctl local up --dir ${dir}\``);
  const url = (controller as { url?: unknown } | undefined)?.url;
  if (typeof url !== 'string' || !/^https?:\/\/[^\s/]+\/?$/.test(url)) throw new CliError(`${file}: controller.url is not an http:// URL`);
  return url.replace(/\/+$/, '');
}

export async function resolveControlUrl(source: ControlSource): Promise<string> {
  if (source.kind === 'url') return source.url;
  const file = path.join(source.dir, LOCAL_FILE);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new CliError(`no local cluster in ${source.dir} (no ${file}): start one with \`irisctl local up\`, or give --dir or --url`);
    }
    throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
  }
  return controlUrlFromLocalJson(text, source.dir);
}

/** The token in a token file (trimmed); CliError saying what is wrong otherwise. */
export async function readControlToken(file: string): Promise<string> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new CliError(`no control API token at ${file}: is it a local cluster's directory?`);
    if (code === 'EACCES') throw new CliError(`cannot read the control API token ${file} (permission denied): run irisctl as the user who started the cluster`);
    throw new CliError(`cannot read the control API token ${file}: ${(err as Error).message}`);
  }
  const token = text.trim();
  if (token === '' || /\s/.test(token)) throw new CliError(`${file} does not hold a token (one word expected)`);
  return token;
}

/** A client of the controller `source` names, sending the cluster token. */
export async function controlClient(source: ControlSource): Promise<ControlClient> {
  // The URL first: "no local cluster in DIR" says more than a missing token file would.
  const url = await resolveControlUrl(source);
  const token = await readControlToken(source.kind === 'url' ? source.tokenFile : clusterPaths(source.dir).token);
  return new ControlClient(url, token);
}
