/**
 * The Go client (clients/go) against a real local cluster (3 shards × 1
 * replica, dataDurability preferred so a shard writes on while its old
 * primary is away): this test starts the cluster and runs the Go client's
 * integration test (clients/go/integration_test.go, built once into a cache
 * by clients/go/test-binary.sh) with the addresses in its environment. The
 * Go test kills -9 a primary under a write load and checks that writes to
 * its slots resume, that every acknowledged write is readable, and that the
 * breaker opens on the dead node and closes once the platform restarted it;
 * then it SIGSTOPs another shard's primary and checks that writes to its
 * slots are acknowledged by the promoted replica while the old primary is
 * still stopped, and that nothing acknowledged is lost after SIGCONT;
 * the test here then checks the cluster is whole again.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { LocalCluster } from '../support/local-cluster.js';
import { run } from '../support/run.js';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

describe('Go client against a local cluster (3 × 1)', function () {
  this.timeout(400_000);
  let cluster: LocalCluster;
  let testBinary: string;

  before(async () => {
    const built = await run('bash', [path.join(repo, 'clients/go/test-binary.sh')], { timeoutMs: 300_000 });
    expect(built.code, built.stderr).to.equal(0);
    testBinary = built.stdout.trim().split('\n').pop()!;
    cluster = await LocalCluster.start({ shards: 3, replicas: 1, dataDurability: 'preferred' });
  });

  after(async () => {
    await cluster?.destroy();
  });

  it('go test (unit tests of the retry table and breaker, and against the cluster): typed RESP and HTTP calls, kill -9 of a primary (writes resume, nothing acknowledged lost, the breaker opens and closes), SIGSTOP of another (writes to its slots acknowledged while it is still stopped)', async () => {
    const st = await cluster.status();
    const nodes = st.shards.flatMap((s) => s.nodes);
    const victim = st.shards.find((s) => s.id === 'shard-0')!;
    const victimNode = await cluster.node(victim.primary!);
    const pausedShard = st.shards.find((s) => s.id === 'shard-1')!;
    const env = {
      ...process.env,
      IRISDB_TEST_NODES: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
      IRISDB_TEST_HTTP: nodes.map((n) => n.httpUrl!).join(','),
      IRISDB_TEST_VICTIM_PID: String(await cluster.pidOf(victim.primary!)),
      IRISDB_TEST_VICTIM_ADDR: `127.0.0.1:${victimNode.port}`,
      IRISDB_TEST_PAUSE_PID: String(await cluster.pidOf(pausedShard.primary!)),
      IRISDB_TEST_PAUSE_ADDR: `127.0.0.1:${(await cluster.node(pausedShard.primary!)).port}`,
    };
    const res = await run(testBinary, ['-test.v', '-test.count=1', '-test.timeout', '300s'], { env, cwd: path.join(repo, 'clients/go'), timeoutMs: 320_000 });
    expect(res.code, `${res.stdout}\n${res.stderr}`).to.equal(0);
    for (const t of ['TestRespTableRetriesWritesOnlyWhenNotApplied', 'TestHTTPTable', 'TestBackoffFullJitter', 'TestBreakerStateMachine', 'TestAgainstLocalCluster', 'TestPausedPrimary']) expect(res.stdout).to.include(`--- PASS: ${t}`);
    expect(res.stdout).to.match(/\d+ acknowledged writes, all readable/);
    expect(res.stdout).to.match(/paused primary: \d+ acknowledged writes, all readable/);
    await cluster.waitReady(60_000);
  });
});
