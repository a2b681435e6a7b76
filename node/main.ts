#!/usr/bin/env node
/** irisdb-node: one storage node. Configuration: flags > IRIS_* env > --config file > defaults. */
import fs from 'node:fs';
import os from 'node:os';
import { ConfigError, parseCli } from './config/load.js';
import { createLogger } from '../common/logger.js';
import { startNodeRuntime } from './runtime/node-runtime.js';
import { restoreAtStart } from './bootstrap/restore-at-start.js';
import { IRISDB_VERSION } from '../common/version.js';

async function main(): Promise<number> {
  let action;
  try {
    action = parseCli({ argv: process.argv.slice(2), env: process.env, readFile: (p) => fs.readFileSync(p, 'utf8') });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`irisdb-node: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (action.kind === 'help') {
    process.stdout.write(action.text);
    return 0;
  }
  if (action.kind === 'version') {
    process.stdout.write(`irisdb-node ${IRISDB_VERSION}\n`);
    return 0;
  }
  const { config, sources, unknownEnv } = action.loaded;
  if (config.nodeName === '') config.nodeName = os.hostname();
  const logger = createLogger(config.logLevel, { node: config.nodeName });
  if (unknownEnv.length > 0) logger.warn('ignoring IRIS_* variables that name no setting', { variables: unknownEnv });
  // An init container's job: load the data directory from a backup, then exit without serving.
  if (config.restoreFrom !== '') return restoreAtStart(config, logger);

  let runtime;
  try {
    runtime = await startNodeRuntime(config, logger);
  } catch (err) {
    logger.error('startup failed', { err: (err as Error).message, stack: (err as Error).stack });
    return 1;
  }
  const fromFlagsOrEnv = Object.fromEntries(Object.entries(sources).filter(([, s]) => s !== 'default'));
  logger.info('irisdb-node ready', {
    version: IRISDB_VERSION, respPort: runtime.respPort, tlsPort: runtime.tlsPort, httpPort: runtime.httpPort,
    bind: config.bind, dataDir: config.dataDir, fsync: config.fsync, nodeId: runtime.engine.nodeId, configured: fromFlagsOrEnv,
  });
  if (process.stdout.isTTY) {
    process.stdout.write(
      `IrisDB node ready\n` +
      (runtime.respPort !== runtime.tlsPort ? `  redis-cli -p ${runtime.respPort}${config.bind === '127.0.0.1' ? '' : ` -h ${config.bind}`}\n` : '') +
      (runtime.tlsPort !== 0 ? `  redis-cli --tls --cacert ${config.tlsCaCertFile || '<your CA file>'} -p ${runtime.tlsPort}${config.bind === '127.0.0.1' ? '' : ` -h ${config.bind}`}\n` : '') +
      `  HTTP API  ${config.tlsHttp ? 'https' : 'http'}://${config.bind}:${runtime.httpPort}/v1/kv/<key>\n  data      ${config.dataDir}\nPress Ctrl-C to stop.\n`,
    );
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) {
        logger.warn('second signal: exiting without waiting for clients', { signal });
        process.exit(1);
      }
      stopping = true;
      logger.info('shutting down', { signal });
      runtime.close().then(
        () => { logger.info('stopped'); resolve(0); },
        (err: Error) => { logger.error('shutdown failed', { err: err.message }); resolve(1); },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}

main().then(
  (code) => {
    process.exitCode = code;
    // Flush logs, then leave even if a stray handle (an idle socket) remains.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: Error) => {
    process.stderr.write(`irisdb-node: fatal: ${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
