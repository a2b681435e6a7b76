/**
 * The backup snapshot's CPU budget: the pause it takes (pace.ts
 * cpuBudgetDelayMs, pure) and the setting (--backup-cpu-percent /
 * IRIS_BACKUP_CPU_PERCENT), whose bad values are refused with the flag named.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { cpuBudgetDelayMs } from '../../node/backup/pace.js';
import { ConfigError, parseCli } from '../../node/config/load.js';

function settingOf(argv: string[], env: Record<string, string> = {}): number {
  const action = parseCli({ argv, env, readFile: () => '{}' });
  if (action.kind !== 'run') throw new Error(`expected a run action, got ${action.kind}`);
  return action.loaded.config.backupCpuPercent;
}

describe('backup snapshot CPU budget', () => {
  it('pauses until the CPU used is within the percent of the elapsed time, at most 1 s at a time', () => {
    expect(cpuBudgetDelayMs(10, 0, 10)).to.equal(100);
    expect(cpuBudgetDelayMs(10, 40, 10)).to.equal(60);
    expect(cpuBudgetDelayMs(10, 100, 10)).to.equal(0);
    expect(cpuBudgetDelayMs(500, 0, 10)).to.equal(1000);
    expect(cpuBudgetDelayMs(1000, 0, 100)).to.equal(0);
  });

  it('after the pause (uncapped), CPU / elapsed is within the budget', () => {
    fc.assert(fc.property(fc.double({ min: 0, max: 100, noNaN: true }), fc.double({ min: 0, max: 1000, noNaN: true }), fc.integer({ min: 1, max: 99 }), (cpuMs, elapsedMs, percent) => {
      const d = cpuBudgetDelayMs(cpuMs, elapsedMs, percent);
      expect(d).to.be.within(0, 1000);
      // Below the cap the pause is exactly what the budget needs.
      if (d < 1000) expect(cpuMs * 100).to.be.at.most(percent * (elapsedMs + d) + 1e-6);
    }));
  });

  it('the setting defaults to 10 and reads the flag and IRIS_BACKUP_CPU_PERCENT', () => {
    expect(settingOf([])).to.equal(10);
    expect(settingOf(['--backup-cpu-percent', '40'])).to.equal(40);
    expect(settingOf([], { IRIS_BACKUP_CPU_PERCENT: '7' })).to.equal(7);
  });

  for (const bad of ['0', '101', '-5', '12.5', 'fast']) {
    it(`refuses --backup-cpu-percent ${bad} with the flag named`, () => {
      expect(() => settingOf(['--backup-cpu-percent', bad])).to.throw(ConfigError, /backup-cpu-percent/);
    });
  }
});
