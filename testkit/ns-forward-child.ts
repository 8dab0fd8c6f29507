// Runs inside a test's network namespace: accepts TCP on 127.0.0.1:PORT there and carries each
// connection over a unix socket (path sockets cross namespaces) to the test process. Prints "ready".
import { connect, createServer } from 'node:net';

const [port, path] = process.argv.slice(2) as [string, string];
createServer((s) => {
  const u = connect(path);
  s.pipe(u).pipe(s);
  s.on('error', () => u.destroy());
  u.on('error', () => s.destroy());
}).listen(Number(port), '127.0.0.1', () => process.stdout.write('ready\n'));
