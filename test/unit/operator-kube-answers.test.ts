/**
 * The Kubernetes adapter's pure parts shared with the test harness: how an
 * API server's answer becomes a body or a KubeApiError
 * (operator/kube/errors.ts), and what a fresh list means against an
 * informer's cache (operator/kube/list-diff.ts).
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { KubeApiError, kubeAnswer } from '../../operator/kube/errors.js';
import { applyList, type ListEvent } from '../../operator/kube/list-diff.js';

describe('operator/kube answers and list diffs', () => {
  describe('kubeAnswer', () => {
    it('parses a 2xx body, keeps non-JSON text and reads an empty body as {}', () => {
      expect(kubeAnswer('GET', '/x', 200, '{"a":1}')).to.deep.equal({ ok: true, body: { a: 1 } });
      expect(kubeAnswer('GET', '/x', 200, 'plain')).to.deep.equal({ ok: true, body: 'plain' });
      expect(kubeAnswer('DELETE', '/x', 204, '')).to.deep.equal({ ok: true, body: {} });
    });

    it('turns an error status into a KubeApiError with the Status reason and message', () => {
      const a = kubeAnswer('PUT', '/apis/x', 409, JSON.stringify({ kind: 'Status', reason: 'Conflict', message: 'the object has been modified' }));
      expect(a.ok).to.equal(false);
      const err = (a as { error: KubeApiError }).error;
      expect(err).to.be.instanceOf(KubeApiError);
      expect(err.statusCode).to.equal(409);
      expect(err.reason).to.equal('Conflict');
      expect(err.message).to.equal('PUT /apis/x: 409 the object has been modified');
      // A proxy's HTML error page: no reason, the text as message.
      const b = kubeAnswer('GET', '/y', 502, '<html>bad gateway</html>') as { error: KubeApiError };
      expect(b.error.reason).to.equal('');
      expect(b.error.message).to.equal('GET /y: 502 <html>bad gateway</html>');
    });

    it('never throws, whatever the text (property)', () => {
      fc.assert(fc.property(fc.integer({ min: 0, max: 599 }), fc.string(), (code, text) => {
        const a = kubeAnswer('GET', '/z', code, text);
        expect(a.ok).to.equal(code >= 200 && code < 300);
      }));
    });
  });

  describe('applyList', () => {
    type Obj = { metadata: { name: string; resourceVersion: string } };
    const o = (name: string, rv: string): Obj => ({ metadata: { name, resourceVersion: rv } });
    const key = (x: Obj): string => x.metadata.name;

    it('reports added, modified and deleted objects and leaves the cache equal to the list', () => {
      const cache = new Map<string, Obj>([['a', o('a', '1')], ['b', o('b', '1')], ['c', o('c', '1')]]);
      const events: string[] = [];
      applyList(cache, [o('a', '1'), o('b', '2'), o('d', '1')], key, (type, obj, old) => events.push(`${type} ${obj.metadata.name} ${old?.metadata.resourceVersion ?? '-'}`));
      expect(events).to.deep.equal(['MODIFIED b 1', 'ADDED d -', 'DELETED c 1']);
      expect([...cache.keys()].sort()).to.deep.equal(['a', 'b', 'd']);
      expect(cache.get('b')!.metadata.resourceVersion).to.equal('2');
    });

    it('replaying the events on the old cache gives the new list (property)', () => {
      const objs = fc.array(fc.record({ name: fc.constantFrom('a', 'b', 'c', 'd', 'e'), rv: fc.constantFrom('1', '2') }), { maxLength: 6 });
      fc.assert(fc.property(objs, objs, (before, after) => {
        const dedupe = (xs: { name: string; rv: string }[]): Obj[] => [...new Map(xs.map((x) => [x.name, o(x.name, x.rv)])).values()];
        const cache = new Map(dedupe(before).map((x) => [key(x), x]));
        const mirror = new Map(cache);
        const list = dedupe(after);
        applyList(cache, list, key, (type: ListEvent, obj) => {
          if (type === 'DELETED') mirror.delete(key(obj));
          else mirror.set(key(obj), obj);
        });
        const want = new Map(list.map((x) => [key(x), x]));
        expect(cache).to.deep.equal(want);
        expect(mirror).to.deep.equal(want);
      }));
    });
  });
});
