/**
 * Issue #13 item 2: the HTTP API through any node of a local 3 shards × 1
 * replica cluster. Every node (primaries and replicas) answers PUT / GET /
 * DELETE / batch / scan by forwarding to the slot's primary; `?redirect=true`
 * answers 307 naming the owner instead; a batch spanning shards is refused
 * with 400 cross_slot and a message saying why.
 */
import { expect } from 'chai';
import { keySlot } from '../../common/slot.js';
import { LocalCluster } from '../support/local-cluster.js';

interface NodeUrl { readonly name: string; readonly role: string; readonly url: string }

async function json(res: Response): Promise<Record<string, unknown>> {
  return (await res.json()) as Record<string, unknown>;
}

describe('HTTP forwarding through every node (3 shards × 1 replica, issue #13)', function () {
  this.timeout(180_000);
  let cluster: LocalCluster;
  let nodes: NodeUrl[];

  before(async () => {
    cluster = await LocalCluster.start({ shards: 3, replicas: 1 });
    const st = await cluster.status();
    nodes = st.shards.flatMap((s) => s.nodes.map((n) => ({ name: n.name, role: n.role, url: n.httpUrl ?? '' })));
    expect(nodes).to.have.length(6);
    expect(nodes.every((n) => n.url !== '')).to.equal(true);
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('PUT, GET and DELETE of keys on every shard succeed through every node', async () => {
    for (const n of nodes) {
      // Keys in many slots: whichever node we ask, two thirds belong to other shards.
      const keys = Array.from({ length: 6 }, (_, i) => `fw-${n.name}-${i}`);
      for (const k of keys) {
        const put = await fetch(`${n.url}/v1/kv/${k}`, { method: 'PUT', body: `v-${k}` });
        expect(put.status, `PUT ${k} via ${n.name} (${n.role}): ${await put.clone().text()}`).to.equal(200);
        expect(put.headers.get('etag')).to.match(/^"\d+"$/);
      }
      for (const k of keys) {
        const get = await fetch(`${n.url}/v1/kv/${k}`);
        expect(get.status, `GET ${k} via ${n.name}`).to.equal(200);
        expect(await get.text()).to.equal(`v-${k}`);
      }
      for (const k of keys) {
        const del = await fetch(`${n.url}/v1/kv/${k}`, { method: 'DELETE' });
        expect(del.status, `DELETE ${k} via ${n.name}`).to.equal(200);
        expect(await json(del)).to.deep.equal({ deleted: true });
        const gone = await fetch(`${n.url}/v1/kv/${k}`);
        expect(gone.status).to.equal(404);
      }
    }
  });

  it('a batch on one slot succeeds through every node; one spanning slots is refused, saying why', async () => {
    for (const n of nodes) {
      const ops = [
        { op: 'put', key: `{b-${n.name}}a`, value: '1' },
        { op: 'put', key: `{b-${n.name}}b`, value: '2' },
        { op: 'get', key: `{b-${n.name}}a` },
      ];
      const res = await fetch(`${n.url}/v1/kv:batch`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ops }) });
      expect(res.status, `batch via ${n.name}`).to.equal(200);
      const body = await json(res);
      expect((body.results as Array<Record<string, unknown>>)[2]).to.include({ op: 'get', found: true, value: '1' });
    }
    const a = 'x-a';
    let b = 'x-b0';
    for (let i = 1; keySlot(Buffer.from(b)) === keySlot(Buffer.from(a)); i++) b = `x-b${i}`;
    const res = await fetch(`${nodes[0]!.url}/v1/kv:batch`, {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ops: [{ op: 'put', key: a, value: '1' }, { op: 'put', key: b, value: '2' }] }),
    });
    expect(res.status).to.equal(400);
    const err = (await json(res)).error as Record<string, unknown>;
    expect(err.code).to.equal('cross_slot');
    expect(String(err.message)).to.match(/atomic/);
  });

  it('scan through every node lists the keys of every shard exactly once', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `scan-fw-${String(i).padStart(2, '0')}`);
    for (const k of keys) {
      const put = await fetch(`${nodes[0]!.url}/v1/kv/${k}`, { method: 'PUT', body: k });
      expect(put.status).to.equal(200);
    }
    for (const n of nodes) {
      const seen: string[] = [];
      let cursor: string | null = '';
      for (let pages = 0; cursor !== null; pages++) {
        expect(pages).to.be.below(100);
        const res = await fetch(`${n.url}/v1/scan?prefix=scan-fw-&limit=7&cursor=${encodeURIComponent(cursor)}`);
        expect(res.status, `scan via ${n.name}: ${await res.clone().text()}`).to.equal(200);
        const page = (await json(res)) as { items: Array<{ key: string }>; cursor: string | null };
        seen.push(...page.items.map((x) => x.key));
        cursor = page.cursor;
      }
      expect([...seen].sort(), `scan via ${n.name}`).to.deep.equal(keys);
    }
  });

  it('?redirect=true answers 307 with Location on the owner, for a key another node owns', async () => {
    const st = await cluster.status();
    const primaryUrls = new Set(st.shards.flatMap((s) => s.nodes.filter((x) => x.name === s.primary).map((x) => x.httpUrl)));
    const via = nodes[0]!;
    let redirects = 0;
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${via.url}/v1/kv/redir-${i}?redirect=true`, { redirect: 'manual' });
      if (res.status === 404) continue; // this node owns the key: served here
      expect(res.status).to.equal(307);
      const loc = new URL(res.headers.get('location') ?? '');
      expect(primaryUrls.has(loc.origin)).to.equal(true);
      expect(loc.pathname).to.equal(`/v1/kv/redir-${i}`);
      redirects++;
    }
    expect(redirects).to.be.above(0);
  });
});
