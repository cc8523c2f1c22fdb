import type { Ledger, LeaseFilter, LeaseRecord } from '@xe/ledger';

/** Leases read per page at a restart. */
export const LEASE_PAGE = 500;

/**
 * Every lease matching `filter`, read through the ledger's offset/limit pages (oldest first)
 * so a restart resumes all of them, not only the first page.
 */
export async function allLeases(ledger: Pick<Ledger, 'listLeases'>, filter: LeaseFilter, pageSize = LEASE_PAGE): Promise<LeaseRecord[]> {
  const out: LeaseRecord[] = [];
  for (let offset = 0; ; offset += pageSize) {
    const page = await ledger.listLeases({ ...filter, offset, limit: pageSize });
    out.push(...page);
    if (page.length < pageSize) return out;
  }
}
