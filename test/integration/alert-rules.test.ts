/**
 * The chart's alert rules (helm/irisdb/rules/irisdb.rules.yaml) with the
 * real promtool (issue #18): `promtool check rules` accepts them,
 * `promtool test rules` passes the unit tests in rules/tests/ (each alert
 * fires when it should and stays quiet when it should not, with its
 * rendered summary, description and runbook link; the tests over days are in
 * a file of their own, evaluated hourly), the tests cover every
 * alert both ways and fail when the rules lose their `for:` durations, and
 * every alert has a severity and a runbook in docs/alerts.md.
 */
import { expect } from 'chai';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load } from 'js-yaml';
import { ALERTS_DOC, PROMTOOL_BIN, RULES_FILE, RULES_TEST_FILES, metricNamesIn } from '../support/prometheus.js';
import { run } from '../support/run.js';

interface AlertRule {
  alert: string;
  expr: string;
  for?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}
interface RuleTests {
  tests: Array<{ alert_rule_test: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
}

const RUNBOOK_BASE = 'https://github.com/irisdb/irisdb/blob/main/docs/alerts.md#';

function alertRules(): AlertRule[] {
  const doc = load(fs.readFileSync(RULES_FILE, 'utf8')) as { groups: Array<{ rules: AlertRule[] }> };
  return doc.groups.flatMap((g) => g.rules);
}

/** GitHub's anchor of a Markdown heading. */
function anchor(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^a-z0-9 _-]/g, '').replace(/ /g, '-');
}

describe('alert rules (promtool)', function () {
  this.timeout(60000);

  it('promtool check rules accepts the rules file', async () => {
    const r = await run(PROMTOOL_BIN, ['check', 'rules', RULES_FILE]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`SUCCESS: ${alertRules().length} rules found`);
  });

  it('promtool test rules passes every alert\'s unit tests', async () => {
    const r = await run(PROMTOOL_BIN, ['test', 'rules', ...RULES_TEST_FILES]);
    expect(r.code, r.stdout + r.stderr).to.equal(0);
    expect(r.stdout.match(/SUCCESS/g), r.stdout).to.have.length(RULES_TEST_FILES.length);
  });

  it('the unit tests check every alert both firing and not firing', () => {
    const checks = RULES_TEST_FILES.flatMap((f) => (load(fs.readFileSync(f, 'utf8')) as RuleTests).tests).flatMap((t) => t.alert_rule_test);
    for (const rule of alertRules()) {
      const mine = checks.filter((c) => c.alertname === rule.alert);
      expect(mine.some((c) => c.exp_alerts.length > 0), `${rule.alert} is never expected to fire`).to.equal(true);
      expect(mine.some((c) => c.exp_alerts.length === 0), `${rule.alert} is never expected to stay quiet`).to.equal(true);
    }
  });

  it('the unit tests fail when the rules lose their for: durations (they would page on a blip)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'irisdb-rules-'));
    try {
      fs.mkdirSync(path.join(dir, 'tests'));
      const weakened = fs.readFileSync(RULES_FILE, 'utf8').replace(/^\s+for: .*$/gm, '');
      fs.writeFileSync(path.join(dir, 'irisdb.rules.yaml'), weakened);
      const copies = RULES_TEST_FILES.map((f) => path.join(dir, 'tests', path.basename(f)));
      RULES_TEST_FILES.forEach((f, i) => fs.copyFileSync(f, copies[i]!));
      const r = await run(PROMTOOL_BIN, ['test', 'rules', ...copies]);
      expect(r.code).to.not.equal(0);
      const withFor = alertRules().filter((a) => a.for !== undefined).map((a) => a.alert);
      for (const name of withFor) expect(r.stdout + r.stderr, `no test of ${name} noticed its for: went`).to.contain(`alertname: ${name},`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('every alert has a severity, summary, description and a runbook in docs/alerts.md', () => {
    const doc = fs.readFileSync(ALERTS_DOC, 'utf8');
    const anchors = new Set([...doc.matchAll(/^#{2,4} (.+)$/gm)].map((m) => anchor(m[1]!)));
    const names = new Set<string>();
    for (const rule of alertRules()) {
      expect(names.has(rule.alert), `${rule.alert} twice`).to.equal(false);
      names.add(rule.alert);
      expect(rule.labels.severity, rule.alert).to.be.oneOf(['critical', 'warning']);
      expect(rule.annotations.summary, rule.alert).to.be.a('string').and.not.equal('');
      expect(rule.annotations.description, rule.alert).to.be.a('string').and.not.equal('');
      const url = rule.annotations.runbook_url ?? '';
      expect(url.startsWith(RUNBOOK_BASE), `${rule.alert}: ${url}`).to.equal(true);
      expect(anchors.has(url.slice(RUNBOOK_BASE.length)), `${rule.alert}: no heading for ${url} in docs/alerts.md`).to.equal(true);
      expect(metricNamesIn(rule.expr), rule.alert).to.not.be.empty;
    }
  });
});
