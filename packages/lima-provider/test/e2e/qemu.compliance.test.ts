import { QemuVmManager } from '../../src/index.js';
import { KEYS, provisionInChildProcess } from '../support/helpers.js';
import { vmManagerTests } from '../support/suite.js';

// A real VM per lease under QEMU (TCG on these machines: their /dev/kvm guests hang, and
// the probe boot finds that out). The guest image comes from scripts/install-qemu.sh.
vmManagerTests({
  name: 'qemu',
  create: (dataDir) => new QemuVmManager({ dataDir }, KEYS),
  provisionInOtherProcess: provisionInChildProcess((dataDir) => ({ backend: 'qemu', dataDir })),
  timeoutMs: 180_000,
  isolation: {
    // busybox nc inside the guest; 10.0.2.2 is QEMU's user-mode gateway (the host's loopback unless restricted).
    tcpProbe: (host, port) => `nc -w 3 ${host} ${port} </dev/null`,
    probeControl: { host: '127.0.0.1', port: 22 },
    extraHosts: ['10.0.2.2'],
    pidsMax: 512,
  },
});
