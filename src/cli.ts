// `routesync`: the entry point. Each command lives in src/commands/<name>.ts and registers itself here.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { EXIT, reportError } from './commands/common.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export interface CommandModule {
  register(program: Command): void;
}

const COMMANDS = ['validate', 'run', 'reconcile', 'status', 'release', 'emulator', 'demo', 'agent'] as const;

/**
 * Builds the program with the commands named (all by default). Loading a command pulls in its cloud SDKs,
 * so a one-off `routesync validate` loads only `validate`: about a second less per start.
 */
export async function buildProgram(only: readonly string[] = COMMANDS): Promise<Command> {
  const program = new Command('routesync')
    .description('Allocates one pod subnet per VM and keeps Aliyun, AWS and GCE VPC route tables in step.')
    .version(pkg.version, '-V, --version')
    // One line per usage error, in the same `routesync: …` form as every other error (scripts grep for it).
    .configureOutput({
      outputError: (str, write) =>
        write(`routesync: ${str.replace(/^error: /, '').trimEnd()} (run with --help for usage)\n`),
    })
    .exitOverride();
  const mods = await Promise.all(only.map((name) => import(`./commands/${name}.ts`) as Promise<CommandModule>));
  for (const mod of mods) mod.register(program);
  program.commands.forEach((c) => c.exitOverride());
  return program;
}

async function main(): Promise<void> {
  // A known command as the first argument needs only its own module; anything else (help, version, an
  // unknown command) gets them all so help lists every command and typos are reported as such.
  const first = process.argv[2];
  const program = await buildProgram(
    COMMANDS.includes(first as (typeof COMMANDS)[number]) ? [first as string] : COMMANDS,
  );
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander already printed the message; --help and --version are not errors.
      process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    process.exitCode = reportError(e);
  }
}

await main();
// The command is done. A client library may still hold a connection open (etcd3 keeps the watch of an
// aborted election campaign alive after the client is closed); a one-off command must still exit.
setTimeout(() => process.exit(), 1000).unref();
