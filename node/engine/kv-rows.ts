/**
 * The number of rows in kv, kept in meta.key_count: apply-path.ts writes it
 * in every commit that changes it (and counts once at open), so a snapshot
 * opening a read transaction on the event loop reads one row instead of
 * counting a million (~50 ms per 200k keys).
 */
export const KEY_COUNT = 'key_count';

/** The row count as of the reading transaction; COUNT(*) only for a database no node has opened since the row was introduced. */
export const KV_ROWS_SQL = `SELECT COALESCE((SELECT value FROM meta WHERE name = '${KEY_COUNT}'), (SELECT COUNT(*) FROM kv))`;
