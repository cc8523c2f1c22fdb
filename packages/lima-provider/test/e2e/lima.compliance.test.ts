import { fileURLToPath } from 'node:url';
import { LimaVmManager } from '../../src/index.js';
import { provisionInChildProcess, vmManagerTests } from '../../src/testing/index.js';

// These machines have no KVM and no Lima: the Lima backend runs against a fake limactl
// that follows the real CLI and is backed by the sandbox backend.
const limactlPath = fileURLToPath(new URL('../fixtures/limactl', import.meta.url));

vmManagerTests(
  {
    name: 'lima (fake limactl)',
    create: (dataDir) => new LimaVmManager({ dataDir, limactlPath }),
    provisionInOtherProcess: provisionInChildProcess((dataDir) => ({ backend: 'lima', dataDir, limactlPath })),
  },
  { describe, it, beforeAll, afterAll },
);
