/**
 * Redis 7 parity of a standalone node (no --cluster-enabled, no map) against
 * a standalone redis-server with one database (IrisDB has only DB 0): a
 * single Redis server lets multi-key commands span slots (issue #17), and
 * the string and key commands added for issue #17 answer as Redis does.
 */
import { itMatchesCases, useStandaloneParityPair } from '../support/parity.js';

export const STANDALONE_CASES: Record<string, readonly string[]> = {
  'multi-key commands across slots run as on a single Redis server': [
    'mset a 1 b 2', 'mget a b', 'msetnx a 1 c 3', 'msetnx c 3 d 4', 'mget a b c d', 'exists a b c d nosuch',
    'del a b', 'unlink c d', 'mget a b c d',
  ],
  'MGET, MSET, MSETNX, DEL, EXISTS, UNLINK across slots (formerly CROSSSLOT cases of the cluster-mode parity files)': [
    'mset a 1 b 2', 'mget a b', 'msetnx a 1 b 2', 'set {t}e 2', 'mget {t}e {t}e nokey', 'del a b', 'exists a b', 'unlink a b',
  ],
  'transactions across slots (formerly CROSSSLOT in redis-parity-session)': [
    'multi', 'set a 1', 'set b 1', 'exec', 'exec', 'multi', 'mset a 1 b 2', 'exec', 'multi', 'get {a}1',
    'get {a}2', 'get b', 'exec', 'multi', 'get {a}1', 'get {a}2', 'exec', 'mget a b', 'mget {a}1 {a}2', 'watch a b',
    'watch {a}1 {a}2', 'exec', 'unwatch', 'multi', 'get a', 'foo', 'get b', 'exec', 'multi', 'get a', 'get b', 'get',
    'exec', 'set w 1', 'watch w', 'set w 2', 'multi', 'get a', 'get b', 'exec', 'del a b', 'exists a b', 'unlink a b',
  ],
  'transactions and WATCH across slots': [
    'multi', 'set a 1', 'set b 2', 'mget a b', 'exec', 'watch a b', 'multi', 'get a', 'get b', 'exec',
    'watch a b', 'set b 3', 'multi', 'get a', 'exec', 'unwatch',
  ],
};

describe('Redis parity: standalone node vs standalone redis-server', function () {
  this.timeout(60_000);
  const env = useStandaloneParityPair();
  itMatchesCases(env, 2, STANDALONE_CASES);
});
