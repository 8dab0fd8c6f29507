// A candidate in its own process, for the leader failover tests: a real SIGKILL must be possible.
// argv: endpoints(comma) base ttlMs identity. stdout: one JSON event per line. stdin: "resign", "fence", "status".
import { createInterface } from 'node:readline';
import { Etcd3 } from 'etcd3';
import { EtcdLeadership } from '../../src/store/etcd/election.ts';
import { silentLogger } from '../../src/log.ts';

const [endpoints, base, ttlMs, identity] = process.argv.slice(2) as [string, string, string, string];
const client = new Etcd3({ hosts: endpoints.split(',') });
const l = new EtcdLeadership({ client, base, ttlMs: Number(ttlMs), identity, logger: silentLogger });
const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
l.onLost(() => say({ event: 'lost' }));
say({ event: 'campaigning' });
l.campaign(new AbortController().signal).then(
  () => say({ event: 'elected' }),
  (e: Error) => say({ event: 'campaign-error', message: e.message }),
);
createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line === 'resign') {
    await l.resign();
    say({ event: 'resigned' });
  } else if (line === 'fence') {
    await l.fence().then(
      () => say({ event: 'fence', ok: true }),
      (e: Error) => say({ event: 'fence', ok: false, message: e.message }),
    );
  } else if (line === 'status') {
    say({ event: 'status', leader: l.isLeader() });
  }
});
