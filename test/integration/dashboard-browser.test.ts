/**
 * The web dashboard (issue #18) in a real browser: headless Debian chromium
 * driven by playwright-core against a local cluster started as a user
 * starts it (`irisctl local up`, which prints the `dashboard:` line). The
 * page shows every shard and node with its role; its slot map gives each of
 * the 16384 slots exactly one owner, the one the controller reports (read
 * from the SVG's data attributes, not pixels); a kill -9 of a primary shows
 * up as the node going down, the replica becoming primary and the failover
 * events; a rescale shows its progress (the operation, its stage, the slots
 * moving); a backup shows up to its completion; a switchover sent from
 * the page needs the pasted token; every
 * request the page makes stays on loopback; the view it reads carries no
 * token. Screenshots go to test-artifacts/dashboard/.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { SLOT_COUNT, keySlot } from '../../common/slot.js';
import { LocalCluster } from '../support/local-cluster.js';
import { waitFor } from '../support/wait.js';
import { clusterClient, preload } from './migration-support.js';

const here = path.dirname(fileURLToPath(import.meta.url));
/** <repo>/test-artifacts/dashboard, from dist/test/integration (gitignored). */
const ARTIFACTS = path.resolve(here, '../../../test-artifacts/dashboard');

const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

interface NodeRow { name: string; role: string; up: string }
interface SlotRun { shard: string; first: number; last: number }
interface OpSeen { stage: string; done: number; total: number; migrating: number }

const rows = (page: Page): Promise<NodeRow[]> => page.locator('#shards tr[data-node]').evaluateAll((els) => els.map((e) => ({
  name: e.getAttribute('data-node') ?? '', role: e.getAttribute('data-role') ?? '', up: e.getAttribute('data-up') ?? '',
})));

const primaryShown = (page: Page, shard: string): Promise<string | null> => page.locator(`#shards [data-shard="${shard}"]`).getAttribute('data-primary');

const eventReasons = (page: Page): Promise<string[]> => page.locator('#events li').evaluateAll((els) => els.map((e) => e.getAttribute('data-reason') ?? ''));

describe('dashboard in a browser (local cluster)', function () {
  this.timeout(300_000);
  let cluster: LocalCluster;
  let browser: Browser;
  let page: Page;
  let dashboardUrl: string;
  const requested: string[] = [];
  /** Uncaught exceptions in the page's script. */
  const pageErrors: string[] = [];

  before(async () => {
    await fs.promises.mkdir(ARTIFACTS, { recursive: true });
    cluster = await LocalCluster.start({ shards: 2, replicas: 1 });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    page.on('request', (r) => requested.push(r.url()));
    page.on('pageerror', (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await browser?.close();
    await cluster?.destroy();
  });

  const shot = (name: string): Promise<Buffer> => page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });

  /** Waits for the page to render a view generated after `since` (ms). */
  const freshView = (since: number): Promise<number> => waitFor('the page to render a fresh view', async () => {
    const at = Number(await page.locator('body').getAttribute('data-generated-at'));
    return at > since ? at : null;
  }, { timeoutMs: 15_000, intervalMs: 50 });

  it('is printed by `irisctl local up` and shows every shard and node with its role, and all 16384 slots', async () => {
    const m = /^ {2}dashboard: (http:\/\/127\.0\.0\.1:(\d+)\/)$/m.exec(cluster.output());
    expect(m, `a dashboard line in:\n${cluster.output()}`).to.not.equal(null);
    dashboardUrl = m![1]!;
    expect(Number(m![2])).to.equal(cluster.basePort + 2000); // the control API's port
    await page.goto(`${dashboardUrl}?refresh=250`);
    await freshView(0);

    // Some traffic, so the charts have something to draw.
    const client = clusterClient(await cluster.seedPort());
    try {
      for (let i = 0; i < 300; i++) await client.set(`dash:${i}`, 'v');
    } finally {
      client.disconnect();
    }

    const st = await cluster.status();
    const want = st.shards.flatMap((s) => s.nodes.map((n) => ({ name: n.name, role: n.role, up: String(n.up) })));
    await waitFor('the page to list every node with the controller\'s roles', async () => {
      const got = await rows(page);
      return JSON.stringify(got) === JSON.stringify(want) ? got : null;
    }, { timeoutMs: 15_000, intervalMs: 100 });
    expect(want).to.have.length(4);
    for (const s of st.shards) expect(await primaryShown(page, s.id)).to.equal(s.primary);

    const runs: SlotRun[] = await page.locator('#slot-owners [data-shard]').evaluateAll((els) => els.map((e) => ({
      shard: e.getAttribute('data-shard') ?? '', first: Number(e.getAttribute('data-first')), last: Number(e.getAttribute('data-last')),
    })));
    const owner = new Array<string | null>(SLOT_COUNT).fill(null);
    for (const r of runs) {
      for (let slot = r.first; slot <= r.last; slot++) {
        expect(owner[slot], `slot ${slot} drawn twice`).to.equal(null);
        owner[slot] = r.shard;
      }
    }
    for (const s of st.shards) for (const [a, b] of s.slots) for (let slot = a; slot <= b; slot++) expect(owner[slot], `slot ${slot}`).to.equal(s.id);
    expect(owner.filter((o) => o === null)).to.have.length(0);
    // Drawn, not only listed: each run has cells on the SVG.
    expect(await page.locator('#slot-owners rect').count()).to.be.at.least(runs.length);

    // The charts got points from the nodes' /metrics (ops/s of the primaries that served the SETs).
    await waitFor('the charts to have points', async () => Number(await page.locator('#chart-ops').getAttribute('data-points')) >= 4, { timeoutMs: 15_000, intervalMs: 100 });
    await waitFor('a primary to show commands per second', async () => {
      const text = await page.locator('#chart-legend').innerText();
      return /iris-shard-\d-\d: [1-9][\d.k]*\/s/.test(text) ? text : null;
    }, { timeoutMs: 15_000, intervalMs: 100 });
    await shot('1-ready');
  });

  it('serves the view without the token, never includes the token, and refuses a rebound Host', async () => {
    const token = await cluster.token();
    const res = await fetch(`${dashboardUrl}dashboard/api/view`);
    expect(res.status).to.equal(200);
    const text = await res.text();
    expect(text).to.not.include(token);
    expect(JSON.parse(text)).to.have.property('slotCount', SLOT_COUNT);
    // The control API itself still needs the token.
    expect((await fetch(`${dashboardUrl}status`)).status).to.equal(401);
    // DNS rebinding: a page on another name pointed at 127.0.0.1 sends its own Host.
    const rebound = await new Promise<number>((resolve, reject) => {
      const req = http.get(`${dashboardUrl}dashboard/api/view`, { headers: { host: `attacker.example:${new URL(dashboardUrl).port}` } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on('error', reject);
    });
    expect(rebound).to.equal(403);
  });

  it('shows a failover when a primary is killed (kill -9)', async () => {
    const before = await cluster.shard('shard-0');
    const old = before.primary;
    const heir = before.nodes.find((n) => n.name !== old)!.name;
    process.kill(await cluster.pidOf(old), 'SIGKILL');
    await waitFor(`the page to show ${old} down`, async () => (await rows(page)).find((r) => r.name === old)?.up === 'false', { timeoutMs: 30_000, intervalMs: 100 });
    await shot('2-primary-down');
    await waitFor(`the page to show ${heir} as shard-0's primary`, async () => {
      const r = (await rows(page)).find((x) => x.name === heir);
      return (await primaryShown(page, 'shard-0')) === heir && r?.role === 'primary';
    }, { timeoutMs: 60_000, intervalMs: 100 });
    await waitFor('the failover events on the page', async () => {
      const reasons = await eventReasons(page);
      return reasons.includes('FailoverStarted') && reasons.includes('FailoverFinished') ? reasons : null;
    }, { timeoutMs: 30_000, intervalMs: 100 });
    await shot('3-failed-over');
    await cluster.waitReady(120_000);
  });

  it('shows a shard refusing writes, why and since when, while its only replica is stopped (issue #13)', async () => {
    const shard = await cluster.shard('shard-1');
    const replica = shard.nodes.find((n) => n.name !== shard.primary)!.name;
    const pid = await cluster.pidOf(replica);
    // A key of shard-1: a write to it waits for the stopped replica and fails after ackTimeoutMs.
    const [lo, hi] = shard.slots[0]!;
    let key = 'refused-0';
    for (let i = 1; keySlot(key) < lo || keySlot(key) > hi; i++) key = `refused-${i}`;
    const client = clusterClient(await cluster.seedPort());
    process.kill(pid, 'SIGSTOP');
    try {
      await client.set(key, 'x').catch(() => null);
      const since = await waitFor('the page to show shard-1 refusing writes', async () => {
        const loc = page.locator('#shards [data-shard="shard-1"] [data-writes-refused="no-sync-replica"]');
        return (await loc.count()) === 1 ? loc.getAttribute('data-since') : null;
      }, { timeoutMs: 30_000, intervalMs: 100 });
      expect(await page.locator('#shards [data-shard="shard-1"] .writes-refused').innerText()).to.contain(`WRITES REFUSED`).and.to.contain(replica);
      expect((await cluster.shard('shard-1')).writesRefused?.since).to.equal(since);
      await shot('2b-writes-refused');
    } finally {
      process.kill(pid, 'SIGCONT');
      client.disconnect();
    }
    await waitFor('the page to clear the refusal', async () => (await page.locator('#shards [data-writes-refused]').count()) === 0, { timeoutMs: 30_000, intervalMs: 100 });
    await cluster.waitReady(120_000);
  });

  it('sends a switchover with the pasted token (refused without the right one, and from another origin)', async () => {
    const before = await cluster.shard('shard-1');
    const heir = before.nodes.find((n) => n.name !== before.primary)!.name;
    await page.locator('#action-shard').selectOption('shard-1');
    await page.locator('#action-token').fill('not-the-token-not-the-token-not-the-token');
    await page.locator('#action-switchover').click();
    await waitFor('the refusal on the page', async () => (await page.locator('#action-result').getAttribute('data-outcome')) === 'error', { timeoutMs: 10_000, intervalMs: 50 });
    expect(await page.locator('#action-result').innerText()).to.match(/HTTP 401/);
    expect((await cluster.shard('shard-1')).primary).to.equal(before.primary);
    // Another site's page cannot send it even with the token: its Origin is not the dashboard's.
    const token = await cluster.token();
    const foreign = await fetch(`${dashboardUrl}switchover`, {
      method: 'POST', headers: { origin: 'http://attacker.example', authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ shard: 'shard-1' }),
    });
    expect(foreign.status).to.equal(403);

    await page.locator('#action-token').fill(token);
    await page.locator('#action-switchover').click();
    await waitFor('the acceptance on the page', async () => (await page.locator('#action-result').getAttribute('data-outcome')) === 'ok', { timeoutMs: 10_000, intervalMs: 50 });
    await waitFor(`the page to show ${heir} as shard-1's primary`, async () => (await primaryShown(page, 'shard-1')) === heir, { timeoutMs: 60_000, intervalMs: 100 });
    await waitFor('the switchover events on the page', async () => (await eventReasons(page)).includes('SwitchoverFinished'), { timeoutMs: 30_000, intervalMs: 100 });
    await cluster.waitReady(120_000);
  });

  it('shows a rescale\'s progress: the operation, its stage and the slots moving', async () => {
    const seed = await cluster.seedPort();
    await preload(seed, [[0, SLOT_COUNT - 1]], 20_000, 200);
    // Record every render of the operations panel and the slot map's migrating runs, whatever the test's own polling sees.
    await page.evaluate(`(() => {
      window.__opsSeen = [];
      const record = () => {
        const op = document.querySelector('#operations [data-operation]');
        if (op === null) return;
        window.__opsSeen.push({ stage: op.getAttribute('data-stage'), done: Number(op.getAttribute('data-slots-done')),
          total: Number(op.getAttribute('data-slots-total')), migrating: document.querySelectorAll('#slot-migrating [data-from]').length });
      };
      new MutationObserver(record).observe(document.getElementById('operations'), { childList: true, subtree: true });
    })()`);
    await cluster.client.scale({ shards: 3 });
    let shotTaken = false;
    await waitFor('the page to show three shards, idle, with every slot assigned', async () => {
      const migrating = await page.locator('#slot-migrating [data-from]').count();
      if (!shotTaken && migrating > 0) {
        shotTaken = true;
        await shot('4-rescaling');
      }
      const shards = await page.locator('#shards [data-shard]').count();
      const idle = (await page.locator('#operations [data-operation]').count()) === 0;
      const summary = await page.locator('#summary').innerText();
      return shards === 3 && idle && summary.includes(`${SLOT_COUNT}/${SLOT_COUNT} slots`);
    }, { timeoutMs: 180_000, intervalMs: 100 });
    const seen = (await page.evaluate('window.__opsSeen')) as OpSeen[];
    expect(seen.length, 'renders of the rebalance').to.be.greaterThan(0);
    expect(seen.map((s) => s.stage)).to.include('migrate');
    const migrating = seen.filter((s) => s.stage === 'migrate');
    expect(migrating.some((s) => s.migrating > 0), 'slots drawn as moving during the migrate stage').to.equal(true);
    expect(migrating.every((s) => s.total > 0 && s.done <= s.total)).to.equal(true);
    const reasons = await eventReasons(page);
    expect(reasons).to.include.members(['RebalanceStarted', 'MigrationFinished', 'RebalanceFinished']);
    await shot('5-rescaled');
  });

  it('shows a cluster backup through to its completion, with every shard\'s keys', async () => {
    const dest = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'irisdb-dash-backup-'));
    try {
      const rec = await cluster.client.createBackup({ destination: `file://${dest}` });
      const row = page.locator(`#backups tr[data-backup="${rec.id}"]`);
      await waitFor(`the page to show ${rec.id} Completed`, async () => (await row.getAttribute('data-phase').catch(() => null)) === 'Completed', { timeoutMs: 120_000, intervalMs: 100 });
      const cells = await row.locator('td').allInnerTexts();
      expect(cells[4]).to.equal('3/3');
      expect(Number(cells[5])).to.be.at.least(20_000); // the rescale test's preload
      expect(cells[7]).to.equal(`file://${dest}`);
      await shot('6-backup');
    } finally {
      await fs.promises.rm(dest, { recursive: true, force: true });
    }
  });

  it('made no request beyond loopback, and its script threw nothing', () => {
    expect(pageErrors).to.deep.equal([]);
    expect(requested.length).to.be.greaterThan(10);
    const away = requested.filter((u) => !['127.0.0.1', 'localhost'].includes(new URL(u).hostname));
    expect(away).to.deep.equal([]);
  });
});
