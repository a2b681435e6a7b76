/**
 * lockDataDir (node/engine/data-dir-lock.ts): a live owner refuses, a dead
 * or own-pid owner is stale and replaced, release removes only its own
 * lock; the engine takes the lock before opening the database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import { DataDirLockedError, LOCK_FILE_NAME, lockDataDir, lockOwner } from '../../node/engine/data-dir-lock.js';

describe('engine: data directory lock', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-lock-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const lockFile = () => path.join(dir, LOCK_FILE_NAME);

  it('writes the owner pid, mode 0600, in a directory it creates 0700', () => {
    const sub = path.join(dir, 'data');
    const lock = lockDataDir(sub);
    expect(lockOwner(fs.readFileSync(lock.file, 'utf8'))).to.equal(process.pid);
    expect(fs.statSync(lock.file).mode & 0o777).to.equal(0o600);
    expect(fs.statSync(sub).mode & 0o777).to.equal(0o700);
    expect(fs.readdirSync(sub)).to.deep.equal([LOCK_FILE_NAME]);
    lock.release();
    expect(fs.existsSync(lock.file)).to.equal(false);
  });

  it('refuses while the owner runs, naming it, and leaves its lock alone', () => {
    fs.writeFileSync(lockFile(), '4242\nabc\n');
    expect(() => lockDataDir(dir, (pid) => pid === 4242)).to.throw(DataDirLockedError, /in use by another irisdb-node \(pid 4242/);
    expect(fs.readFileSync(lockFile(), 'utf8')).to.equal('4242\nabc\n');
    expect(fs.readdirSync(dir)).to.deep.equal([LOCK_FILE_NAME]);
  });

  it('replaces a stale lock: its pid is gone, it is this process, or it names no pid', () => {
    for (const text of ['4242\nabc\n', `${process.pid}\nold\n`, '', 'garbage']) {
      fs.writeFileSync(lockFile(), text);
      const lock = lockDataDir(dir, (pid) => pid === process.pid); // 4242 is gone; this process runs but is the owner itself
      expect(lockOwner(fs.readFileSync(lockFile(), 'utf8'))).to.equal(process.pid);
      lock.release();
    }
  });

  it('release() removes only its own lock (a later holder keeps theirs)', () => {
    const first = lockDataDir(dir);
    fs.writeFileSync(lockFile(), '4242\nsomeone else\n');
    first.release();
    expect(fs.readFileSync(lockFile(), 'utf8')).to.equal('4242\nsomeone else\n');
  });
});
