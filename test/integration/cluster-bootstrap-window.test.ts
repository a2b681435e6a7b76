/**
 * Issue #13 item 1: writes acknowledged before the cluster map arrives must
 * not be lost. `irisctl local up` starts 3 shards × 1 replica; from the first
 * instant the node ports open until the cluster is Ready, every node takes a
 * SET on its RESP port and a PUT on its HTTP port, round after round. Every
 * write a node acknowledged (RESP OK, HTTP 200) must then be readable through
 * an ioredis Cluster client. Before the fix a node without a map answered OK
 * as a standalone server owning every slot, and the key was orphaned once the
 * map gave its slot to another shard.
 */
import net from 'node:net';
import { expect } from 'chai';
import { nodePorts } from '../../operator/local/layout.js';
import { LocalCluster } from '../support/local-cluster.js';

const NODES = 6;
/** The bootstrap takes seconds; this bounds the write loop. */
const LOOP_LIMIT_MS = 120_000;
/** Pause between rounds, so refused connections do not spin the loop. */
const ROUND_PAUSE_MS = 20;

/** One command on a fresh connection; the first reply line, or null if the port is not open (yet). */
function respLine(port: number, argv: readonly string[]): Promise<string | null> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const done = (v: string | null) => {
      sock.destroy();
      resolve(v);
    };
    sock.setTimeout(5000, () => done(null));
    sock.on('error', () => done(null));
    sock.on('connect', () => sock.write(`*${argv.length}\r\n` + argv.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')));
    sock.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      const i = buf.indexOf('\r\n');
      if (i >= 0) done(buf.slice(0, i));
    });
    sock.on('close', () => done(buf === '' ? null : buf));
  });
}

/** An HTTP PUT; the status, or null if the port is not open (yet). */
async function httpPut(port: number, key: string, value: string): Promise<number | null> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/kv/${encodeURIComponent(key)}`, {
      method: 'PUT', body: value, headers: { 'content-type': 'application/octet-stream' }, signal: AbortSignal.timeout(5000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return null;
  }
}

describe('cluster bootstrap: no write is acknowledged before the map that would orphan it (issue #13)', function () {
  this.timeout(240_000);
  let cluster: LocalCluster | undefined;

  after(async () => {
    await cluster?.destroy();
  });

  it('every OK (RESP) and 200 (HTTP) from the first open port until Ready is readable through a cluster client', async () => {
    cluster = await LocalCluster.launch({ shards: 3, replicas: 1 });
    const c = cluster;
    const acked = new Map<string, string>();
    const replies = new Map<string, number>();
    const note = (r: string) => replies.set(r, (replies.get(r) ?? 0) + 1);
    const deadline = Date.now() + LOOP_LIMIT_MS;
    let answeredBeforeReady = 0;
    for (let round = 0; ; round++) {
      if (Date.now() > deadline) throw new Error(`the cluster was not Ready within ${LOOP_LIMIT_MS} ms:\n${c.output().slice(-3000)}`);
      const ready = await c.status().then((st) => st.phase === 'Ready', () => false);
      await Promise.all(Array.from({ length: NODES }, async (_, i) => {
        const ports = nodePorts(c.basePort, i);
        const key = `early:${round}:${i}`;
        const value = `v${round}-${i}`;
        const r = await respLine(ports.port, ['SET', key, value]);
        if (r !== null) {
          note(r.split(' ')[0]!);
          if (!ready) answeredBeforeReady++;
          if (r === '+OK') acked.set(key, value);
        }
        const hkey = `early-http:${round}:${i}`;
        const s = await httpPut(ports.httpPort, hkey, value);
        if (s !== null) {
          note(`http ${s}`);
          if (s === 200) acked.set(hkey, value);
        }
      }));
      if (ready) break;
      await new Promise((r) => setTimeout(r, ROUND_PAUSE_MS));
    }
    // The loop did watch the window: nodes answered before the cluster was Ready.
    expect(answeredBeforeReady, JSON.stringify([...replies])).to.be.greaterThan(0);
    expect(acked.size, JSON.stringify([...replies])).to.be.greaterThan(0);
    await c.waitReady(60_000);
    const keys = [...acked.keys()];
    const got = await c.getAll(keys);
    const lost = keys.filter((k, i) => got[i] !== acked.get(k));
    expect(lost, `acknowledged but not readable (replies: ${JSON.stringify([...replies])})`).to.deep.equal([]);
  });
});
