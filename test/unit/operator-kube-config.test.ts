/**
 * The operator's environment (operator/kube/config.ts) and its Events on
 * the IrisCluster (operator/kube/events.ts eventObject).
 */
import { expect } from 'chai';
import { ConfigError, operatorConfig } from '../../operator/kube/config.js';
import { eventObject } from '../../operator/kube/events.js';

describe('operator/kube config', () => {
  it('has the chart\'s defaults', () => {
    expect(operatorConfig({}, 'host-1')).to.deep.equal({
      namespace: 'default', watchNamespaces: [], logLevel: 'info', leaderElectionId: 'irisdb-operator', metricsPort: 9090, dashboardPort: 8090, identity: 'host-1', caDays: 3650,
    });
  });

  it('takes the lifetime of the CAs it makes from IRIS_OPERATOR_CA_DAYS, bounded', () => {
    expect(operatorConfig({ IRIS_OPERATOR_CA_DAYS: '30' }, 'x').caDays).to.equal(30);
    for (const bad of ['0', '36501', '1.5', 'ten', '-3']) {
      expect(() => operatorConfig({ IRIS_OPERATOR_CA_DAYS: bad }, 'x'), bad).to.throw(ConfigError, /IRIS_OPERATOR_CA_DAYS: expected a whole number of days from 1 to 36500/);
    }
  });

  it('reads every variable the Deployment sets; the identity is the pod name', () => {
    const c = operatorConfig({
      IRIS_OPERATOR_NAMESPACE: 'irisdb-system', IRIS_WATCH_NAMESPACES: ' a, b ,,a', IRIS_LOG_LEVEL: 'debug',
      IRIS_LEADER_ELECTION_ID: 'my-lease', IRIS_METRICS_PORT: '9191', HOSTNAME: 'irisdb-operator-7d9-abc', IRIS_OPERATOR_CA_DAYS: '365',
    }, 'x');
    expect(c).to.deep.equal({ namespace: 'irisdb-system', watchNamespaces: ['a', 'b'], logLevel: 'debug', leaderElectionId: 'my-lease', metricsPort: 9191, dashboardPort: 8090, identity: 'irisdb-operator-7d9-abc', caDays: 365 });
    expect(operatorConfig({ POD_NAME: 'p', HOSTNAME: 'h' }, 'x').identity).to.equal('p');
  });

  it('names the variable that is wrong', () => {
    expect(() => operatorConfig({ IRIS_LOG_LEVEL: 'loud' }, 'x')).to.throw(ConfigError, /IRIS_LOG_LEVEL/);
    expect(() => operatorConfig({ IRIS_METRICS_PORT: '70000' }, 'x')).to.throw(ConfigError, /IRIS_METRICS_PORT/);
    expect(() => operatorConfig({ IRIS_DASHBOARD_PORT: 'web' }, 'x')).to.throw(ConfigError, /IRIS_DASHBOARD_PORT/);
    expect(operatorConfig({ IRIS_DASHBOARD_PORT: '0' }, 'x').dashboardPort).to.equal(null);
    expect(operatorConfig({ IRIS_DASHBOARD_PORT: '9999' }, 'x').dashboardPort).to.equal(9999);
    expect(() => operatorConfig({ IRIS_WATCH_NAMESPACES: 'ok,Not_OK' }, 'x')).to.throw(ConfigError, /IRIS_WATCH_NAMESPACES.*Not_OK/);
  });
});

describe('operator/kube events', () => {
  it('records a controller event on the IrisCluster with its reason and type', () => {
    const cr = { metadata: { name: 'iris', namespace: 'db', uid: 'u-1' } };
    const e = eventObject(cr, { at: Date.UTC(2026, 0, 2, 3, 4, 5, 678), type: 'Warning', reason: 'FailoverStarted', message: 'failover of shard-0 started' }, 'abc', 'op-pod');
    expect(e.metadata).to.deep.equal({ name: 'iris.abc', namespace: 'db' });
    expect(e.involvedObject).to.deep.equal({ apiVersion: 'irisdb.io/v1alpha1', kind: 'IrisCluster', name: 'iris', namespace: 'db', uid: 'u-1' });
    expect([e.type, e.reason, e.message, e.count]).to.deep.equal(['Warning', 'FailoverStarted', 'failover of shard-0 started', 1]);
    expect(e.firstTimestamp as unknown).to.equal('2026-01-02T03:04:05Z');
    const long = eventObject(cr, { at: 0, type: 'Normal', reason: 'X', message: 'm'.repeat(5000) }, 's', 'i');
    expect(long.message!.length).to.equal(1024);
  });
});
