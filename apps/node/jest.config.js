import { jestConfig } from '../../tools/jest.config.base.js';

// The e2e tests start real node processes; running their files one at a time keeps the
// 2-core CI machine from timing them out.
export default jestConfig({ maxWorkers: 1, testTimeout: 180_000 });
