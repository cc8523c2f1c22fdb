import { type Clock, type JsonValue, type LeaseBlock, type LeaseParams, type Logger, nsToMs, type VmInfo } from '@xe/core-types';
import type { Ledger, LeaseRecord } from '@xe/ledger';
import { waitConfirmed } from '../../confirmed.js';
import type { Metrics } from '../../metrics.js';
import type { ChainWriter } from '../chain-writer.js';
import type { AttestPort, NetPort, Timers, VmPort } from '../ports.js';
import { deadline, sleep } from '../scheduler.js';
import { type Capacity, fits } from './capacity.js';

/**
 * SPEC §10.5: the provider acts only on a lease whose timestamp leaves this much of the
 * accept window (the consumer sets that timestamp), so a back-dated lease never boots a
 * VM that could not be accepted in time.
 */
export const ACCEPT_LEAD_NS = 30_000_000_000n;

/** The last moment the provider starts on `lease` (lease timestamp + accept window − 30 s). */
export function acceptStartBy(lease: Pick<LeaseRecord, 'timestamp'>, p: Pick<LeaseParams, 'accept_window_ns'>): bigint {
  return lease.timestamp + p.accept_window_ns - ACCEPT_LEAD_NS;
}

/** The shortest time given to provisioning and the accept, even when the accept window is nearly over. */
const MIN_ACCEPT_MS = 1000;
const VM_INFO_PUSH_ATTEMPTS = 5;

export interface AcceptComponents {
  ledger: Ledger;
  vms: VmPort;
  writer: ChainWriter;
  net: NetPort;
  attest: AttestPort;
  capacity: Capacity;
  clock: Clock;
  timers: Timers;
  logger: Logger;
  metrics: Metrics;
  /** The VM info pushed to the consumer (the provider's signed view, see `ProviderService.vmInfoFor`). */
  vmInfoFor(leaseHash: string): Promise<VmInfo | undefined>;
}

/**
 * Accepting a lease addressed to this provider (SPEC §10 step 5): reserve capacity,
 * provision the VM, gather attestations, commit `lease_accept`, push the VM info to the
 * consumer's node. A lease that cannot be accepted is left to the consumer's cancel.
 */
export class LeaseAcceptor {
  private readonly inFlight = new Set<string>();
  private readonly vmInfo = new Map<string, VmInfo>();
  /** When the last accept ended (clock, ns). */
  private lastEndNs = 0n;

  constructor(
    private readonly options: { address: string; lease: LeaseParams; signal: AbortSignal },
    private readonly components: AcceptComponents,
  ) {}

  /** The VM info kept for a lease (adopted at start or provisioned here). */
  info(leaseHash: string): VmInfo | undefined {
    return this.vmInfo.get(leaseHash);
  }

  /** ms until no accept will have run for `quietMs`: `quietMs` while one runs, 0 once quiet. */
  quietIn(quietMs: number): number {
    if (this.inFlight.size > 0) return quietMs;
    return Math.max(0, quietMs - nsToMs(this.components.clock() - this.lastEndNs));
  }

  remember(leaseHash: string, info: VmInfo): void {
    this.vmInfo.set(leaseHash, info);
  }

  forget(leaseHash: string): void {
    this.vmInfo.delete(leaseHash);
  }

  /** Tries to accept `lease`; resolves when done either way (a second call while one runs is a no-op). */
  async accept(lease: LeaseRecord): Promise<void> {
    if (this.inFlight.has(lease.hash)) return;
    this.inFlight.add(lease.hash);
    const { ledger, vms, writer, attest, capacity, clock, timers, logger: log, metrics } = this.components;
    const res = { vcpus: Number(lease.vcpus), memory_mb: Number(lease.memory_mb), disk_gb: Number(lease.disk_gb) };
    let provisioned = false;
    let clear = () => {};
    const t = new PhaseTimer();
    try {
      const acceptBy = lease.timestamp + this.options.lease.accept_window_ns;
      if (clock() > acceptStartBy(lease, this.options.lease)) {
        log.info('lease not accepted: accept window passed', { lease: lease.hash, timestamp: lease.timestamp, accept_by: acceptBy });
        return;
      }
      const own = await ledger.getCertificate(lease.certificate_hash);
      if (!own || own.provider !== this.options.address) {
        log.warn('lease not accepted: it names a certificate that is not ours', { lease: lease.hash });
        return;
      }
      const refused = await capacity.exclusive(async () => {
        capacity.releaseOfferHold(lease.consumer, res);
        if (!fits(res, await capacity.free())) return 'no capacity left';
        const account = await ledger.getAccount(this.options.address);
        if (!account || account.balances.XUSD < lease.stake) return 'balance does not cover the stake';
        capacity.reserve(lease.hash, res);
        return undefined;
      });
      if (refused) {
        log.warn(`lease not accepted: ${refused}`, { lease: lease.hash, ...res, stake: lease.stake });
        return;
      }
      const d = deadline(timers, Math.max(MIN_ACCEPT_MS, nsToMs(acceptBy - clock())), 'lease accept', this.options.signal);
      clear = d.clear;
      const signal = d.signal;
      t.mark('checks_ms');
      // nothing irreversible on an unconfirmed block (SPEC §12): a VM only for a confirmed lease
      if (!(await waitConfirmed(ledger, lease.hash, { signal }))) throw new Error('the lease block was not confirmed');
      t.mark('confirm_ms');
      // the lease block for the attestation request is read while the VM boots
      const block = ledger.getBlock(lease.hash);
      block.catch(() => undefined);
      const info = await vms.provision(lease.hash, res, lease.access_pub_key, { signal });
      provisioned = true;
      this.vmInfo.set(lease.hash, info);
      t.mark('provision_ms');
      log.info('VM provisioned', { lease: lease.hash, ms: t.total() });
      const attestations = await attest.gather({ lease_hash: lease.hash, block: (await block) as LeaseBlock }, { signal });
      t.mark('attest_ms');
      const p = this.options.lease;
      await writer.write(
        (s) => {
          if (s.balances.XUSD < lease.stake) throw new Error('balance no longer covers the stake');
          return {
            type: 'lease_accept' as const,
            asset: 'XUSD' as const,
            balance: s.balances.XUSD - lease.stake,
            source: lease.hash,
            amount: lease.stake,
            locked_r: p.emission_r_milli,
            certificate_hash: lease.certificate_hash,
            attestations,
          };
        },
        { signal, what: 'lease accept' },
      );
      t.mark('commit_ms');
      metrics.counter('xe_leases_accepted_total', 'Leases this provider accepted')();
      log.info('lease accepted', { lease: lease.hash, consumer: lease.consumer, ms: t.total(), ...t.phases });
      void this.pushVmInfo(lease.consumer, lease.hash);
    } catch (err) {
      log.warn('lease not accepted', { lease: lease.hash, err });
      if (provisioned) {
        const now = await ledger.getLease(lease.hash);
        if (now?.state !== 'accepted') await vms.teardown(lease.hash).catch(() => undefined);
      }
    } finally {
      clear();
      capacity.release(lease.hash);
      this.inFlight.delete(lease.hash);
      this.lastEndNs = clock();
    }
  }

  /** Pushes the VM info to the consumer's node, a few times with growing pauses; the consumer also pulls it. */
  private async pushVmInfo(consumer: string, leaseHash: string): Promise<void> {
    const { net, timers, logger } = this.components;
    for (let attempt = 0; attempt < VM_INFO_PUSH_ATTEMPTS && !this.options.signal.aborted; attempt++) {
      const info = await this.components.vmInfoFor(leaseHash).catch(() => undefined);
      if (!info) return;
      try {
        await net.requestByAddress(consumer, '/xe/vminfo/1.0.0', { lease_hash: leaseHash, vm: info as unknown as JsonValue }, { timeoutMs: 5000, signal: this.options.signal });
        return;
      } catch (err) {
        logger.debug('VM info push failed; the consumer will pull it', { lease: leaseHash, err });
        await sleep(timers, 2000 * (attempt + 1), this.options.signal).catch(() => undefined);
      }
    }
  }
}

/**
 * Durations of the accept's phases (ms, one decimal) for its log line: certificate,
 * capacity and stake checked with the reservation made, the lease confirmed, the VM
 * provisioned, attestations gathered, `lease_accept` built, solved and committed. The benchmark reads them to show where an accept's time goes.
 */
class PhaseTimer {
  readonly phases: Record<string, number> = {};
  private readonly start = performance.now();
  private last = this.start;

  mark(name: string): void {
    const now = performance.now();
    this.phases[name] = Math.round((now - this.last) * 10) / 10;
    this.last = now;
  }

  total(): number {
    return Math.round((performance.now() - this.start) * 10) / 10;
  }
}
