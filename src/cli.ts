// `routesync`: the entry point. Each command lives in src/commands/<name>.ts and registers itself here.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { EXIT, reportError, UsageError } from './commands/common.ts';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

export interface CommandModule {
  register(program: Command): void;
}

const COMMANDS = ['validate', 'run', 'reconcile', 'status', 'release', 'emulator', 'demo'] as const;

export async function buildProgram(): Promise<Command> {
  const program = new Command('routesync')
    .description('Allocates one pod subnet per VM and keeps Aliyun, AWS and GCE VPC route tables in step.')
    .version(pkg.version, '-V, --version')
    // One line per usage error, in the same `routesync: …` form as every other error (scripts grep for it).
    .configureOutput({
      outputError: (str, write) => write(`routesync: ${str.replace(/^error: /, '').trimEnd()} (run with --help for usage)\n`),
    })
    .exitOverride();
  for (const name of COMMANDS) {
    const mod = (await import(`./commands/${name}.ts`).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ERR_MODULE_NOT_FOUND' && e.message.includes(`commands/${name}.ts`)) return undefined;
      throw e;
    })) as CommandModule | undefined;
    mod?.register(program);
  }
  program.commands.forEach((c) => c.exitOverride());
  return program;
}

async function main(): Promise<void> {
  const program = await buildProgram();
  try {
    await program.parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander already printed the message; --help and --version are not errors.
      process.exitCode = e.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    process.exitCode = reportError(e instanceof UsageError ? e : e);
  }
}

await main();
