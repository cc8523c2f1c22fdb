// `pnpm bench <package>`: builds that package (and what it depends on), then runs its
// benchmark alone. Benchmarks run one package at a time so they do not compete for cores.
import { spawnSync } from 'node:child_process';

const target = process.argv[2];
if (!target) {
  console.error('usage: pnpm bench <package>   e.g. pnpm bench crypto | ledger | gossip | api-server | lima-provider | node');
  process.exit(2);
}
const name = target.startsWith('@xe/') ? target : `@xe/${target}`;
const run = (args) => {
  const r = spawnSync('pnpm', args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(['exec', 'turbo', 'run', 'build', `--filter=${name}...`, '--concurrency=2', '--output-logs=errors-only']);
run(['--filter', name, 'run', 'bench']);
