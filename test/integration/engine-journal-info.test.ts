/**
 * INFO persistence of a real node over RESP: with --write-journal yes it
 * reports the journal's aof_*-style fields (journal_enabled:1, a size that
 * grows with writes, journal_last_write_status:ok); without, journal_enabled:0.
 */
import { expect } from 'chai';
import { useNodeWithClient } from '../support/node-client.js';
import { infoFields as persistence } from '../support/info-fields.js';

describe('INFO persistence: write journal fields', function () {
  this.timeout(60_000);

  describe('with --write-journal yes', () => {
    const n = useNodeWithClient({ args: ['--write-journal', 'yes', '--fsync', 'always'] });

    it('reports the journal enabled, its size growing with writes, and its write status', async () => {
      const before = persistence(await n.redis.info('persistence'));
      expect(before.get('journal_enabled')).to.equal('1');
      expect(before.get('journal_last_write_status')).to.equal('ok');
      const pipe = n.redis.pipeline();
      for (let i = 0; i < 50; i++) pipe.set(`k${i}`, 'v'.repeat(200));
      await pipe.exec();
      const after = persistence(await n.redis.info('persistence'));
      expect(Number(after.get('journal_current_size'))).to.be.greaterThan(Number(before.get('journal_current_size')) + 50 * 200);
      expect(Number(after.get('journal_fsyncs'))).to.be.greaterThan(Number(before.get('journal_fsyncs')));
      expect(after.get('journal_pending_fsync')).to.equal('0');
      expect(after.get('journal_last_write_status')).to.equal('ok');
    });
  });

  describe('with --write-journal no', () => {
    const n = useNodeWithClient({ args: ['--write-journal', 'no'] });

    it('reports journal_enabled:0 and no other journal field', async () => {
      const f = persistence(await n.redis.info('persistence'));
      expect(f.get('journal_enabled')).to.equal('0');
      expect([...f.keys()].filter((k) => k.startsWith('journal_'))).to.deep.equal(['journal_enabled']);
    });
  });
});
