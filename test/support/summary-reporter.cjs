// Mocha's spec reporter plus, at the end, the slowest test files (so a CI log
// shows where the suite's time goes) and one closing line in the plain form
// CI reads: "N passed, N failed, N skipped".
'use strict';
const Mocha = require('mocha');
const { Spec } = Mocha.reporters;
const { EVENT_RUN_END, EVENT_SUITE_BEGIN, EVENT_SUITE_END } = Mocha.Runner.constants;

const SLOWEST_FILES_SHOWN = 25;

class SummaryReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    // Wall time per file: from its first top-level suite's start to its last one's end.
    const files = new Map();
    runner.on(EVENT_SUITE_BEGIN, (suite) => {
      if (!suite.file || !suite.parent || !suite.parent.root) return;
      const f = files.get(suite.file);
      if (f) f.start = Date.now();
      else files.set(suite.file, { start: Date.now(), ms: 0 });
    });
    runner.on(EVENT_SUITE_END, (suite) => {
      if (!suite.file || !suite.parent || !suite.parent.root) return;
      const f = files.get(suite.file);
      if (f) f.ms += Date.now() - f.start;
    });
    runner.once(EVENT_RUN_END, () => {
      const s = runner.stats || {};
      const slowest = [...files.entries()].sort((a, b) => b[1].ms - a[1].ms).slice(0, SLOWEST_FILES_SHOWN);
      if (slowest.length > 0) {
        const total = [...files.values()].reduce((sum, f) => sum + f.ms, 0);
        process.stdout.write(`\nslowest test files (of ${files.size}, ${(total / 1000).toFixed(0)} s in files):\n`);
        for (const [file, f] of slowest) {
          process.stdout.write(`  ${(f.ms / 1000).toFixed(1).padStart(7)} s  ${file.replace(process.cwd() + '/', '')}\n`);
        }
      }
      process.stdout.write(`\n${s.passes || 0} passed, ${s.failures || 0} failed, ${s.pending || 0} skipped\n`);
    });
  }
}
module.exports = SummaryReporter;
