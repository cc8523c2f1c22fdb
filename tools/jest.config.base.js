// Shared jest configuration: native ESM, TypeScript transpiled by swc (type checking is `tsc`).
import { fileURLToPath } from 'node:url';

const polyfills = fileURLToPath(new URL('./jest-polyfills.cjs', import.meta.url));

export function jestConfig(overrides = {}) {
  return {
    testEnvironment: 'node',
    setupFiles: [polyfills],
    extensionsToTreatAsEsm: ['.ts'],
    testMatch: ['<rootDir>/test/**/*.test.ts'],
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    transform: {
      '^.+\\.ts$': [
        '@swc/jest',
        { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' } },
      ],
    },
    testTimeout: 30000,
    ...overrides,
  };
}
