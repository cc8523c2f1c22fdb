import { jestConfig } from '../../tools/jest.config.base.js';

const base = jestConfig();

// The README example imports the package by name; point that at the sources so tests need no build.
export default {
  ...base,
  moduleNameMapper: { '^@xe/api-server$': '<rootDir>/src/index.ts', ...base.moduleNameMapper },
};
