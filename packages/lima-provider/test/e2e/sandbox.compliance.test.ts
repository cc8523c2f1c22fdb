import { expect, it } from '@jest/globals';
import { DEFAULT_PIDS_MAX, SandboxVmManager, createVmManager } from '../../src/index.js';
import { KEYS, provisionInChildProcess } from '../support/helpers.js';
import { vmManagerTests } from '../support/suite.js';

vmManagerTests({
  name: 'sandbox (sealed bubblewrap + sshd -i)',
  // With a pool of ready sandboxes, filled before the first provision: the suite's VMs (and so
  // every isolation case) run on pooled disks.
  create: async (dataDir) => {
    const m = new SandboxVmManager({ dataDir, poolSize: 1 }, KEYS);
    await m.warmPool();
    return m;
  },
  provisionInOtherProcess: provisionInChildProcess((dataDir) => ({ backend: 'sandbox', dataDir })),
  isolation: {
    // bash's /dev/tcp (bash comes from the host's read-only /usr).
    tcpProbe: (host, port) => `timeout 5 bash -c 'exec 3<>/dev/tcp/${host}/${port}'`,
    pidsMax: DEFAULT_PIDS_MAX,
  },
});

it('createVmManager builds the sandbox backend', () => {
  expect(createVmManager({ backend: 'sandbox', dataDir: '/tmp/xe-unused' }).backend).toBe('sandbox');
});
