import { jestConfig } from '../../tools/jest.config.base.js';

export default jestConfig();
