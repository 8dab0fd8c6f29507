import type { Command } from 'commander';
import { configPath, loadConfig } from '../config.ts';
import { action, EXIT, withLogFlags } from './common.ts';

export function register(program: Command): void {
  const cmd = program
    .command('validate')
    .description('Check a config file: every problem on its own line naming the field; exit 0 valid, 2 invalid')
    .option('-c, --config <file>', 'config file (default: $ROUTESYNC_CONFIG)');
  // Logs nothing today; the flags are accepted so every command takes the same ones.
  withLogFlags(cmd, 'warn')
    .addHelpText(
      'after',
      '\nExamples:\n  routesync validate -c examples/config/aws.yaml\n  ROUTESYNC_CONFIG=routesync.yaml routesync validate',
    )
    .action(
      action((opts: { config?: string }) => {
        const path = configPath(opts.config);
        const c = loadConfig(path);
        process.stdout.write(
          `${path}: valid (cluster ${c.cluster}, provider ${c.provider.type}, store ${c.store.type})\n`,
        );
        return EXIT.ok;
      }),
    );
}
