import { describe, expect, it } from '@jest/globals';
import { parseLimaList } from '../../src/index.js';

describe('parseLimaList', () => {
  it('reads one JSON object per line, sizes in bytes, and skips blank lines', () => {
    const out = [
      '{"name":"xe-0123456789ab","status":"Running","dir":"/d/lima/xe-0123456789ab","vmType":"qemu","arch":"x86_64","cpus":2,"memory":2147483648,"disk":21474836480,"sshLocalPort":60022,"hostAgentPID":4242,"driverPID":4343}',
      '',
      '{"name":"other","status":"Stopped","dir":"/d/lima/other","cpus":4,"memory":4294967296,"disk":107374182400,"sshLocalPort":0}',
    ].join('\n');
    expect(parseLimaList(out)).toEqual([
      {
        name: 'xe-0123456789ab',
        status: 'Running',
        dir: '/d/lima/xe-0123456789ab',
        cpus: 2,
        memory: 2147483648,
        disk: 21474836480,
        sshLocalPort: 60022,
        hostAgentPID: 4242,
        driverPID: 4343,
      },
      { name: 'other', status: 'Stopped', dir: '/d/lima/other', cpus: 4, memory: 4294967296, disk: 107374182400, sshLocalPort: 0 },
    ]);
  });
  it('is empty for no instances', () => {
    expect(parseLimaList('')).toEqual([]);
  });
});
