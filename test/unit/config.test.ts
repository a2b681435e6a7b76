import { expect } from 'chai';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { ConfigError, parseBytes, parseCli, type LoadInput } from '../../node/config/load.js';
import { SETTINGS, envName, flagName } from '../../node/config/schema.js';

function load(argv: string[], env: Record<string, string> = {}, files: Record<string, string> = {}) {
  const input: LoadInput = {
    argv, env,
    readFile: (p) => {
      const text = files[p];
      if (text === undefined) throw new Error(`ENOENT: no such file '${p}'`);
      return text;
    },
  };
  const action = parseCli(input);
  if (action.kind !== 'run') throw new Error(`expected run, got ${action.kind}`);
  return action.loaded;
}

describe('node configuration', () => {
  it('uses the documented defaults', () => {
    const { config, sources } = load([]);
    expect(config.port).to.equal(6379);
    expect(config.httpPort).to.equal(8080);
    expect(config.busPort).to.equal(16379);
    expect(config.fsync).to.equal('always');
    expect(sources.port).to.equal('default');
  });

  it('takes flags over env over file over defaults', () => {
    const files = { '/c.json': JSON.stringify({ port: 7001, httpPort: 9001, busPort: 17001 }) };
    const { config, sources } = load(['--port', '7003', '--config', '/c.json'], { IRIS_PORT: '7002', IRIS_HTTP_PORT: '9002' }, files);
    expect(config.port).to.equal(7003);
    expect(sources.port).to.equal('flag');
    expect(config.httpPort).to.equal(9002);
    expect(sources.httpPort).to.equal('env');
    expect(config.busPort).to.equal(17001);
    expect(sources.busPort).to.equal('file');
  });

  it('caches absent keys in the read cache by default; --read-cache-absent-keys no or IRIS_READ_CACHE_ABSENT_KEYS=no turns it off', () => {
    expect(load([]).config.readCacheAbsentKeys).to.equal(true);
    expect(load(['--read-cache-absent-keys', 'no']).config.readCacheAbsentKeys).to.equal(false);
    expect(load([], { IRIS_READ_CACHE_ABSENT_KEYS: 'no' }).config.readCacheAbsentKeys).to.equal(false);
  });

  it('accepts --flag=value and size units', () => {
    const { config } = load(['--max-value-bytes=1mb', '--max-key-bytes', '2k']);
    expect(config.maxValueBytes).to.equal(1024 * 1024);
    expect(config.maxKeyBytes).to.equal(2000);
  });

  it('names the setting, the source and what is expected on bad values', () => {
    expect(() => load(['--port', 'abc'])).to.throw(ConfigError, /option --port.*integer from 0 to 65535/);
    expect(() => load([], { IRIS_FSYNC: 'sometimes' })).to.throw(ConfigError, /IRIS_FSYNC.*one of always, batch/);
    expect(() => load(['--port', '70000'])).to.throw(ConfigError, /--port/);
    expect(() => load(['--bogus', '1'])).to.throw(ConfigError, /unknown option "--bogus"/);
    expect(() => load(['--port'])).to.throw(ConfigError, /needs a value/);
    expect(() => load(['--config', '/missing.json'])).to.throw(ConfigError, /cannot read config file/);
    expect(() => load(['--config', '/bad.json'], {}, { '/bad.json': '{' })).to.throw(ConfigError, /not valid JSON/);
    expect(() => load(['--config', '/x.json'], {}, { '/x.json': '{"nope":1}' })).to.throw(ConfigError, /unknown setting "nope"/);
    expect(() => load(['--config', '/x.json'], {}, { '/x.json': '[1]' })).to.throw(ConfigError, /JSON object/);
  });

  it('rejects contradictory settings', () => {
    expect(() => load(['--port', '7000', '--http-port', '7000'])).to.throw(ConfigError, /each server needs its own port/);
    expect(() => load(['--max-value-bytes', '100mb'])).to.throw(ConfigError, /maxValueBytes/);
  });

  it('reports IRIS_* variables that name no setting', () => {
    expect(load([], { IRIS_NOT_A_SETTING: 'x', PATH: '/bin' }).unknownEnv).to.deep.equal(['IRIS_NOT_A_SETTING']);
  });

  it('documents every setting in --help with its flag and variable', () => {
    const action = parseCli({ argv: ['--help'], env: {}, readFile: () => '' });
    expect(action.kind).to.equal('help');
    if (action.kind !== 'help') return;
    for (const def of SETTINGS) {
      expect(action.text).to.include(flagName(def));
      expect(action.text).to.include(envName(def));
    }
  });

  it('never throws anything but ConfigError on arbitrary input', () => {
    fc.assert(fc.property(fc.array(fc.string({ maxLength: 12 }), { maxLength: 6 }), fc.dictionary(fc.constantFrom(...SETTINGS.map((d) => envName(d))), fc.string({ maxLength: 8 })), (argv, env) => {
      try {
        parseCli({ argv, env, readFile: () => '{}' });
      } catch (err) {
        expect(err).to.be.instanceOf(ConfigError);
      }
    }));
  });

  it('is fully documented in docs/configuration.md', () => {
    const doc = fs.readFileSync(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/configuration.md'), 'utf8');
    for (const def of SETTINGS) {
      expect(doc, `docs/configuration.md lacks ${flagName(def)}`).to.include('`' + flagName(def) + '`');
      expect(doc).to.include('`' + envName(def) + '`');
    }
  });

  it('parses sizes like redis.conf', () => {
    expect(parseBytes('1k')).to.equal(1000);
    expect(parseBytes('1kb')).to.equal(1024);
    expect(parseBytes('3MiB')).to.equal(3 * 1024 * 1024);
    expect(parseBytes('1gb')).to.equal(1024 ** 3);
    expect(parseBytes('12')).to.equal(12);
    expect(parseBytes('-1')).to.equal(null);
    expect(parseBytes('1 tb')).to.equal(null);
  });
});
