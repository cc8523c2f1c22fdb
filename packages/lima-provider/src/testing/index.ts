export {
  type LeaseKey,
  makeLeaseKey,
  makeTempDir,
  processesMentioning,
  provisionInChildProcess,
  randomLeaseHash,
  removeDir,
  sshRun,
} from './helpers.js';
export { type TestApi, type VmManagerHarness, vmManagerTests } from './suite.js';
