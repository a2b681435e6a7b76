/**
 * `irisctl local up --aclfile FILE`: the users every node of the local
 * cluster reads. The file is copied to DIR/users.acl (0600, it holds
 * password digests) and each node gets `--aclfile DIR/users.acl`, so an
 * edit of that one file reaches every node within aclfileCheckMs
 * (docs/security.md). A cluster started so keeps it on later starts.
 */
import fs from 'node:fs';
import path from 'node:path';

export const LOCAL_ACLFILE = 'users.acl';

/** The aclfile the nodes use (copied from `source` when given), or undefined when the cluster has none. */
export async function prepareLocalAclfile(dir: string, source: string | undefined): Promise<string | undefined> {
  const target = path.join(dir, LOCAL_ACLFILE);
  if (source !== undefined) {
    const text = await fs.promises.readFile(source, 'utf8');
    const tmp = `${target}.tmp`;
    await fs.promises.writeFile(tmp, text, { mode: 0o600 });
    await fs.promises.rename(tmp, target);
    return target;
  }
  return fs.existsSync(target) ? target : undefined;
}
