// The package's entry: the sources are compiled by the repository's build (npm run build) into dist/clients/ts.
export * from '../../dist/clients/ts/src/index.js';
