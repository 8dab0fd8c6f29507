// Request bodies for the emulators' HTTP servers (the clouds' and Kubernetes'): bounded, so a hostile or
// broken client cannot make an emulator buffer without end, and admin JSON that fails with an admin error.
import type { IncomingMessage } from 'node:http';
import { AdminError } from './types.ts';

const MAX_BODY = 8 * 1024 * 1024;

export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        req.destroy();
        reject(new Error('request body too large'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export function parseAdminJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new AdminError('body: not valid JSON');
  }
}
