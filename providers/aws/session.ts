// What the AWS adapter's parts (tables, inventory, apply, ENI lookups) share: the clients, the one observed,
// retried, paced call, and what the process has learned about the account.
import type { EC2Client } from '@aws-sdk/client-ec2';
import type { Logger } from 'pino';
import type { AwsConfig } from './config.ts';
import type { EniDirectory } from './enis.ts';

/** A write's fences: `before` each attempt (async), `now` as its request goes on the wire (sync). */
export interface WriteFence {
  before?: () => Promise<void>;
  now?: () => void;
}

/** What the AWS adapter's parts share: the clients and the one observed, retried, paced call. */
export interface AwsSession {
  config: AwsConfig;
  log: Logger;
  ec2: EC2Client;
  call<T>(action: string, signal: AbortSignal | undefined, fn: () => Promise<T>, write?: WriteFence): Promise<T>;
  pageSize: number;
  maxPages: number;
  /** Where "source/dest check is off" is remembered (the endpoint, else the region). */
  cacheScope: string;
  /** Which ENI is which instance's, learned from every DescribeInstances answer. */
  enis: EniDirectory;
}
