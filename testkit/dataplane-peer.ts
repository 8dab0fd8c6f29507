// A host of the dataplane test, run inside one of its namespaces.
//   serve NAME PORT                     TCP: answers each connection with "NAME <the address it sees>";
//                                       on PORT+1 the same greeting, then echoes lines (a long connection)
//   hold HOST PORT                      connects, prints each line received, sends each stdin line
//   connect HOST PORT COUNT PARALLEL    opens COUNT connections, prints {"names":{NAME:n},"seen":[…],"failed":n}
import { connect, createServer } from 'node:net';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'serve') {
  const [name, port] = args as [string, string];
  createServer((s) => {
    s.on('error', () => undefined);
    s.end(`${name} ${s.remoteAddress?.replace(/^::ffff:/, '')}\n`);
  }).listen(Number(port), '0.0.0.0', () => process.stdout.write('ready\n'));
  createServer((s) => {
    s.on('error', () => undefined);
    s.write(`${name} ${s.remoteAddress?.replace(/^::ffff:/, '')}\n`);
    s.pipe(s);
  }).listen(Number(port) + 1, '0.0.0.0');
} else if (mode === 'hold') {
  const [host, port] = args as [string, string];
  const s = connect({ host, port: Number(port) });
  s.pipe(process.stdout);
  process.stdin.pipe(s);
  s.on('error', (e) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
  s.on('close', () => process.exit(0));
} else if (mode === 'connect') {
  const [host, port, count, parallel] = args as [string, string, string, string];
  const names: Record<string, number> = {};
  const seen = new Set<string>();
  let failed = 0;
  let next = 0;
  const one = () =>
    new Promise<void>((resolve) => {
      let data = '';
      const s = connect({ host, port: Number(port), timeout: 2000 });
      s.on('data', (d: Buffer) => (data += d.toString()));
      s.on('timeout', () => s.destroy(new Error('timeout')));
      s.on('error', () => {
        failed++;
        resolve();
      });
      s.on('close', (hadError) => {
        if (hadError) return;
        const [name, addr] = data.trim().split(' ');
        if (name && addr) {
          names[name] = (names[name] ?? 0) + 1;
          seen.add(addr);
        } else failed++;
        resolve();
      });
    });
  const worker = async () => {
    while (next++ < Number(count)) await one();
  };
  await Promise.all(Array.from({ length: Number(parallel) }, worker));
  process.stdout.write(`${JSON.stringify({ names, seen: [...seen], failed })}\n`);
} else {
  process.stderr.write('usage: serve NAME PORT | connect HOST PORT COUNT PARALLEL\n');
  process.exitCode = 2;
}
