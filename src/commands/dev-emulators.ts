// The cloud emulators for `routesync emulator` and `demo`, loaded when one of those commands runs. They are
// a development tool: the image ships no emulators/ (Dockerfile), so the specifier is a variable, which
// keeps every other command (and `--help`) free of them and lets a missing tree be named in one line.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type * as Clouds from '../../emulators/clouds.ts';
import { UsageError } from './common.ts';

const CLOUDS_MODULE = '../../emulators/clouds.ts';

export type CloudEmulators = typeof Clouds;

export async function loadCloudEmulators(command: string): Promise<CloudEmulators> {
  const url = new URL(CLOUDS_MODULE, import.meta.url);
  if (!existsSync(fileURLToPath(url))) {
    throw new UsageError(
      `${command}: the cloud emulators are a development tool and are not shipped in this image; run it from a clone of routesync (npm start)`,
    );
  }
  return (await import(url.href)) as CloudEmulators;
}
