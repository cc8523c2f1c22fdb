import { fileURLToPath } from 'node:url';
import { LimaVmManager } from '../../src/index.js';
import { KEYS, provisionInChildProcess } from '../support/helpers.js';
import { vmManagerTests } from '../support/suite.js';

// These machines have no KVM and no Lima: the Lima backend runs against a fake limactl
// that follows the real CLI and is backed by an (unsealed) sandbox. The isolation cases do
// not apply to that double; see the README for what Lima isolates.
const limactlPath = fileURLToPath(new URL('../support/limactl', import.meta.url));

vmManagerTests({
  name: 'lima (fake limactl)',
  create: (dataDir) => new LimaVmManager({ dataDir, limactlPath, acceptUnenforcedLimits: true }, KEYS),
  provisionInOtherProcess: provisionInChildProcess((dataDir) => ({ backend: 'lima', dataDir, limactlPath, acceptUnenforcedLimits: true })),
});
