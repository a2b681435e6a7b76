/**
 * The operator's Logger for harness components built on operator code (the
 * test kubelet's informers): each entry at `level` or above goes to `sink`
 * as an object, so the harness keeps its own way of reporting.
 */
import { Writable } from 'node:stream';
import winston from 'winston';
import type { Logger } from '../../../common/logger.js';

export interface LogEntry {
  readonly level: string;
  readonly message: string;
  readonly [meta: string]: unknown;
}

export function sinkLogger(sink: (entry: LogEntry) => void, level = 'warn'): Logger {
  const stream = new Writable({
    objectMode: true,
    write(entry: LogEntry, _encoding, done) {
      sink(entry);
      done();
    },
  });
  return winston.createLogger({ level, transports: [new winston.transports.Stream({ stream })] });
}
