import { createRequire } from 'node:module';

/** This package's version (package.json), in GET /, GET /node and `xe-node --version`. */
export const NODE_VERSION: string = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
