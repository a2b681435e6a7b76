/** Encryption keyring files for tests (the format node/crypto/keyring-file.ts parses). */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';

export interface TestKey {
  readonly id: string;
  readonly base64: string;
}

export function newKey(id: string): TestKey {
  return { id, base64: randomBytes(32).toString('base64') };
}

/** Writes `keys` (the last one active) to `file`, atomically (rename), as an operator would. */
export function writeKeyring(file: string, keys: readonly TestKey[]): void {
  const tmp = `${file}.tmp`;
  fs.writeFileSync(tmp, `# test keyring\n${keys.map((k) => `${k.id} ${k.base64}`).join('\n')}\n`, { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Which of `markers` occur, as bytes, in any file under `dir` (recursively). */
export function markersInFiles(dir: string, markers: readonly string[]): Map<string, string[]> {
  const found = new Map<string, string[]>();
  const walk = (d: string): void => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = `${d}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) {
        const bytes = fs.readFileSync(p);
        for (const m of markers) if (bytes.includes(m)) found.set(m, [...(found.get(m) ?? []), p]);
      }
    }
  };
  walk(dir);
  return found;
}
