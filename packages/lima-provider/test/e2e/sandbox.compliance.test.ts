import { SandboxVmManager, createVmManager } from '../../src/index.js';
import { provisionInChildProcess, vmManagerTests } from '../../src/testing/index.js';

vmManagerTests(
  {
    name: 'sandbox (bubblewrap + sshd)',
    create: (dataDir) => new SandboxVmManager({ dataDir }),
    provisionInOtherProcess: provisionInChildProcess((dataDir) => ({ backend: 'sandbox', dataDir })),
  },
  { describe, it, beforeAll, afterAll },
);

// createVmManager picks the backend by name.
it('createVmManager builds the sandbox backend', () => {
  const m = createVmManager({ backend: 'sandbox', dataDir: '/tmp/xe-unused' });
  if (m.backend !== 'sandbox') throw new Error(`got ${m.backend}`);
});
