/**
 * The write journal is the default write path (issue #16): a node started
 * with no journal setting runs with it; --write-journal no and
 * IRIS_WRITE_JOURNAL=no keep the old path (one SQLite commit per turn).
 */
import { expect } from 'chai';
import { parseCli } from '../../node/config/load.js';

function writeJournal(argv: string[], env: Record<string, string> = {}): boolean {
  const action = parseCli({ argv, env, readFile: () => '{}' });
  if (action.kind !== 'run') throw new Error(`expected run, got ${action.kind}`);
  return action.loaded.config.writeJournal;
}

describe('write journal: the default', () => {
  it('is on unless --write-journal no or IRIS_WRITE_JOURNAL=no', () => {
    expect(writeJournal([])).to.equal(true);
    expect(writeJournal(['--write-journal', 'no'])).to.equal(false);
    expect(writeJournal([], { IRIS_WRITE_JOURNAL: 'no' })).to.equal(false);
    expect(writeJournal(['--write-journal', 'yes'], { IRIS_WRITE_JOURNAL: 'no' })).to.equal(true);
  });
});
