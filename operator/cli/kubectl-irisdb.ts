#!/usr/bin/env node
/**
 * The kubectl plugin: kubectl runs an executable named kubectl-irisdb found
 * on PATH for `kubectl irisdb ARGS`, and this is `irisctl --kube ARGS`
 * (docs/irisctl.md: `npm link`, or a symlink into PATH).
 */
process.argv.splice(2, 0, '--kube');
await import('./irisctl.js');
