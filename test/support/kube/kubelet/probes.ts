/**
 * Running one probe or lifecycle handler: httpGet (2xx/3xx is success),
 * tcpSocket (a connection is success), exec (exit 0 inside the container's
 * mount namespace). Each attempt is bounded by the probe's timeout.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { V1ContainerPort, V1Probe } from '@kubernetes/client-node';
import { execArgv, type Mount } from './process.js';

export interface ProbeTarget {
  podIP: string;
  ports: readonly V1ContainerPort[];
  env: Record<string, string>;
  pid: number | undefined;
  mounts: Mount[];
  cwd: string;
}

type Handler = Pick<V1Probe, 'httpGet' | 'tcpSocket' | 'exec' | 'grpc'>;

export function resolvePort(port: number | string | undefined, ports: readonly V1ContainerPort[]): number | undefined {
  if (typeof port === 'number') return port;
  if (port === undefined) return undefined;
  if (/^[0-9]+$/.test(port)) return Number(port);
  return ports.find((p) => p.name === port)?.containerPort;
}

function httpProbe(h: NonNullable<Handler['httpGet']>, t: ProbeTarget, timeoutMs: number): Promise<boolean> {
  const port = resolvePort(h.port as number | string, t.ports);
  if (port === undefined) return Promise.resolve(false);
  const secure = h.scheme === 'HTTPS';
  const headers: Record<string, string> = { 'User-Agent': 'kube-probe/irisdb-test', Accept: '*/*' };
  for (const hd of h.httpHeaders ?? []) headers[hd.name] = hd.value;
  return new Promise((resolve) => {
    const req = (secure ? https : http).request({
      host: h.host ?? t.podIP, port, path: h.path ?? '/', method: 'GET', headers, timeout: timeoutMs,
      rejectUnauthorized: false, agent: false,
    }, (res) => {
      res.resume();
      const code = res.statusCode ?? 0;
      resolve(code >= 200 && code < 400);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}

function tcpProbe(h: NonNullable<Handler['tcpSocket']>, t: ProbeTarget, timeoutMs: number): Promise<boolean> {
  const port = resolvePort(h.port as number | string, t.ports);
  if (port === undefined) return Promise.resolve(false);
  return new Promise((resolve) => {
    const sock = net.connect({ host: h.host ?? t.podIP, port });
    const done = (ok: boolean): void => {
      sock.destroy();
      resolve(ok);
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}

export function execCommand(command: string[], t: ProbeTarget, timeoutMs: number): Promise<boolean> {
  if (command.length === 0) return Promise.resolve(false);
  const argv = execArgv(t.pid, command, t.mounts);
  return new Promise((resolve) => {
    const child = spawn(argv[0]!, argv.slice(1), { env: t.env, cwd: t.cwd, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', () => { clearTimeout(timer); resolve(false); });
    child.once('exit', (code) => { clearTimeout(timer); resolve(code === 0); });
  });
}

/** Runs a probe or handler once. A gRPC probe is not supported and fails. */
export function runHandler(h: Handler, t: ProbeTarget, timeoutMs: number): Promise<boolean> {
  if (h.httpGet !== undefined) return httpProbe(h.httpGet, t, timeoutMs);
  if (h.tcpSocket !== undefined) return tcpProbe(h.tcpSocket, t, timeoutMs);
  if (h.exec !== undefined) return execCommand(h.exec.command ?? [], t, timeoutMs);
  return Promise.resolve(false);
}
