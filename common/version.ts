/** IrisDB's release version, reported by --version, INFO and HELLO. */
export const IRISDB_VERSION = '0.1.0';
