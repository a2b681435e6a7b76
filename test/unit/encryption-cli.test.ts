/** `irisctl re-encrypt`: its command line and its progress and summary lines (pure). */
import { expect } from 'chai';
import { parseCommandLine } from '../../operator/cli/args.js';
import { renderReencryptProgress, renderReencryptSummary, type NodeReencrypt } from '../../operator/cli/run-reencrypt.js';
import type { EncryptionStatus, ReencryptProgress } from '../../common/encryption-admin.js';
import { UsageError } from '../../operator/cli/errors.js';

function node(name: string, p: Partial<ReencryptProgress>, counts: Record<string, number> | null = null): NodeReencrypt {
  const status: EncryptionStatus = {
    enabled: true, activeKeyId: 'k2', keyIds: ['k1', 'k2'], valuesByKeyId: counts,
    reencrypt: { state: 'running', targetKeyId: 'k2', doneKeys: 0, totalKeys: 0, rewrittenKeys: 0, rewrittenLogBatches: 0, startedAt: 1, finishedAt: null, error: null, ...p },
  };
  return { node: name, status };
}

describe('irisctl re-encrypt', () => {
  it('parses --dir, --wait, --timeout and --json', () => {
    expect(parseCommandLine(['re-encrypt', '--dir', 'd', '--wait', '--timeout', '5m'])).to.deep.equal({ kind: 're-encrypt', source: { kind: 'dir', dir: 'd' }, wait: true, timeoutMs: 300_000, json: false });
    expect(parseCommandLine(['re-encrypt', '--json'])).to.include({ wait: false, json: true });
    expect(() => parseCommandLine(['re-encrypt', '--timeout', 'soon'])).to.throw(UsageError, /--timeout must be a duration/);
    expect(() => parseCommandLine(['re-encrypt', 'extra'])).to.throw(UsageError, /unexpected argument/);
  });

  it('draws a bar over every node on a terminal, tens of percent per node otherwise', () => {
    const nodes = [node('a', { state: 'done', doneKeys: 100, totalKeys: 100 }), node('b', { doneKeys: 57, totalKeys: 100 })];
    const tty = renderReencryptProgress(nodes, true, 200);
    expect(tty).to.match(/^\[#{16}\.{4}\]  78% re-encrypt to key k2: 1\/2 nodes done · a done · b 57\/100 keys$/);
    expect(renderReencryptProgress(nodes, false, 80)).to.equal('re-encrypt to key k2: 1/2 nodes done · a done · b running 50%');
    expect(renderReencryptProgress(nodes, true, 30).length).to.be.at.most(29);
  });

  it('summarises each node: active key, state, what was rewritten, values per key id', () => {
    const out = renderReencryptSummary([node('a', { state: 'done', rewrittenKeys: 1500, rewrittenLogBatches: 3 }, { k2: 2000 }), node('b', { state: 'running' })]);
    expect(out).to.equal('a: active key k2, done, 1,500 values and 3 log batches re-encrypted, values per key: k2=2,000\nb: active key k2, running, 0 values and 0 log batches re-encrypted, values per key: not scanned yet\n');
  });

  it('says whether old plaintext was scrubbed from the node\'s files, and why not', () => {
    const scrub = { clean: true, vacuumed: true, walTruncated: true, pauseMs: 310, dbBytes: 1 << 20 };
    const out = renderReencryptSummary([
      node('a', { state: 'done', plaintextScrub: scrub }, { k2: 1 }),
      node('b', { state: 'done', plaintextScrub: { ...scrub, clean: false, vacuumed: false } }, { k2: 1 }),
      node('c', { state: 'done', plaintextScrub: { ...scrub, clean: false, walTruncated: false } }, { k2: 1 }),
    ]).split('\n');
    expect(out[0]).to.match(/, old plaintext scrubbed \(VACUUM paused the node 310 ms\)$/);
    expect(out[1]).to.match(/, old plaintext may remain in free space \(database larger than --reencrypt-vacuum-max-bytes\)$/);
    expect(out[2]).to.match(/, old plaintext may remain in free space \(readers kept the WAL\)$/);
  });
});
