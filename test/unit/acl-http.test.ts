/** How an HTTP Authorization header maps to an ACL user (node/http/acl-http.ts). */
import { expect } from 'chai';
import { createCommandTable } from '../../node/commands/table.js';
import { catalogFromTable } from '../../node/acl/catalog.js';
import { AclStore } from '../../node/acl/store.js';
import { authenticateHeader } from '../../node/http/acl-http.js';

const io = { read: () => '', write: () => {} };
const b64 = (s: string): string => Buffer.from(s).toString('base64');

describe('acl: HTTP credentials', () => {
  const store = new AclStore(catalogFromTable(createCommandTable()), { requirePass: 'pa:ss', aclfile: '', logMaxLen: 10, io });
  store.setUser('alice', ['on', '>apw', '+@all', '~a:*']);
  store.setUser('off', ['off', '>opw', '+@all']);
  const who = (h: string): string | null => authenticateHeader(store, h).user?.name ?? null;

  it('Basic user:password for any user, the password may hold colons', () => {
    expect(who(`Basic ${b64('alice:apw')}`)).to.equal('alice');
    expect(who(`Basic ${b64('default:pa:ss')}`)).to.equal('default');
    expect(who(`Basic ${b64('alice:nope')}`)).to.equal(null);
    expect(who(`Basic ${b64('off:opw')}`)).to.equal(null);
    expect(who('Basic !!!')).to.equal(null);
  });

  it('Bearer <user>:<password> when the part before the first colon names a user, else the default user\'s password', () => {
    expect(who('Bearer alice:apw')).to.equal('alice');
    expect(who('Bearer alice:nope')).to.equal(null);
    // "pa" is no user: the whole token is tried as default's password.
    expect(who('Bearer pa:ss')).to.equal('default');
    expect(who('Bearer nope')).to.equal(null);
    expect(authenticateHeader(store, 'Bearer alice:nope').attempted).to.equal('alice');
  });

  it('with a default user that needs no password, a named user still needs its own', () => {
    const open = new AclStore(catalogFromTable(createCommandTable()), { requirePass: '', aclfile: '', logMaxLen: 10, io });
    open.setUser('alice', ['on', '>apw', '+@all']);
    expect(authenticateHeader(open, 'Bearer alice:wrong').user).to.equal(null);
    expect(authenticateHeader(open, 'Bearer anything').user?.name).to.equal('default');
  });
});
