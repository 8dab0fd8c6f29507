// The agent's iptables rule set, rendered as pure data from the config: no I/O. Rules are written in the
// exact form `iptables-save` prints them back (match order, probability digits), so a resync compares what
// is installed with what is wanted line by line and restores only on a difference.
import { formatCidr, parseCidr } from '../lib/cidr.ts';
import type { IngressMapping } from './config.ts';

/** Every chain the agent owns starts with this; nothing else is ever touched (I2). */
export const CHAIN_PREFIX = 'ROUTESYNC-';
export const MASQ_CHAIN = 'ROUTESYNC-POSTRTG';
export const FORWARD_CHAIN = 'ROUTESYNC-FORWARD';
export const INGRESS_CHAIN = 'ROUTESYNC-INGRESS';

export type Table = 'nat' | 'filter';

/** A rule in a built-in chain that jumps into one of ours: `spec` is everything after `-A HOOK `. */
export interface Jump {
  table: Table;
  hook: string;
  spec: string;
}

export interface RuleSet {
  /** table → our chain → its rules (each a full `-A CHAIN …` line), in order. */
  chains: Record<Table, Map<string, string[]>>;
  jumps: Jump[];
}

export interface RuleInput {
  clusterCIDR: string;
  nonMasqueradeCIDRs: readonly string[];
  masqLinkLocal: boolean;
  randomFully: boolean;
  ingress: readonly IngressMapping[];
}

const MULTICAST = '224.0.0.0/4';
const LINK_LOCAL = '169.254.0.0/16';

/** ip-masq-agent's and the seed's default: the cluster, the VPC and every private range keep their source. */
export function defaultNonMasquerade(clusterCIDR: string, vpcCIDRs: readonly string[]): string[] {
  return dedupe([clusterCIDR, ...vpcCIDRs, '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']);
}

function dedupe(cidrs: readonly string[]): string[] {
  return [...new Set(cidrs.map((c) => formatCidr(parseCidr(c))))];
}

/**
 * What xt_statistic keeps of a probability: a 31-bit fraction, printed by iptables-save with 11 digits.
 * Rendering the same digits makes the installed rule compare equal to the rendered one.
 */
export function probabilityText(p: number): string {
  return (Math.round(p * 0x80000000) / 0x80000000).toFixed(11);
}

/**
 * kube-proxy's even spread over n endpoints: the i-th rule (0-based) of n catches 1/(n−i) of what reaches
 * it, the last catches the rest. Each endpoint gets 1/n of new connections.
 */
export function spreadProbabilities(n: number): number[] {
  return Array.from({ length: n }, (_, i) => 1 / (n - i));
}

export function ingressChainName(m: Pick<IngressMapping, 'protocol' | 'port'>): string {
  return `${CHAIN_PREFIX}ING-${m.protocol.toUpperCase()}-${m.port}`;
}

const comment = (text: string) => `-m comment --comment "routesync: ${text}"`;

export function renderRules(input: RuleInput): RuleSet {
  const cluster = formatCidr(parseCidr(input.clusterCIDR));
  const nat = new Map<string, string[]>();
  const filter = new Map<string, string[]>();

  const masq: string[] = [];
  for (const c of dedupe(input.nonMasqueradeCIDRs))
    masq.push(`-A ${MASQ_CHAIN} -d ${c} ${comment('non-masquerade')} -j RETURN`);
  if (!input.masqLinkLocal) masq.push(`-A ${MASQ_CHAIN} -d ${LINK_LOCAL} ${comment('link-local')} -j RETURN`);
  masq.push(`-A ${MASQ_CHAIN} -d ${MULTICAST} ${comment('multicast')} -j RETURN`);
  masq.push(
    `-A ${MASQ_CHAIN} -s ${cluster} ${comment('masquerade')} -j MASQUERADE${input.randomFully ? ' --random-fully' : ''}`,
  );
  nat.set(MASQ_CHAIN, masq);

  const ingress: string[] = [];
  for (const m of [...input.ingress].sort((a, b) => a.protocol.localeCompare(b.protocol) || a.port - b.port)) {
    const chain = ingressChainName(m);
    ingress.push(
      `-A ${INGRESS_CHAIN} -p ${m.protocol} -m addrtype --dst-type LOCAL -m ${m.protocol} --dport ${m.port} -j ${chain}`,
    );
    const probs = spreadProbabilities(m.endpoints.length);
    nat.set(
      chain,
      m.endpoints.map((ep, i) =>
        i === m.endpoints.length - 1
          ? `-A ${chain} -p ${m.protocol} -j DNAT --to-destination ${ep}`
          : `-A ${chain} -p ${m.protocol} -m statistic --mode random --probability ${probabilityText(probs[i] as number)} -j DNAT --to-destination ${ep}`,
      ),
    );
  }
  nat.set(INGRESS_CHAIN, ingress);

  filter.set(FORWARD_CHAIN, [
    `-A ${FORWARD_CHAIN} -s ${cluster} ${comment('forward from containers')} -j ACCEPT`,
    `-A ${FORWARD_CHAIN} -d ${cluster} ${comment('forward to containers')} -j ACCEPT`,
  ]);

  const jumps: Jump[] = [
    { table: 'nat', hook: 'PREROUTING', spec: `${comment('ingress')} -j ${INGRESS_CHAIN}` },
    { table: 'nat', hook: 'OUTPUT', spec: `${comment('ingress')} -j ${INGRESS_CHAIN}` },
    {
      table: 'nat',
      hook: 'POSTROUTING',
      spec: `-m addrtype ! --dst-type LOCAL ${comment('masquerade')} -j ${MASQ_CHAIN}`,
    },
    { table: 'filter', hook: 'FORWARD', spec: `${comment('forward')} -j ${FORWARD_CHAIN}` },
  ];
  return { chains: { nat, filter }, jumps };
}

/** The nothing-installed rule set: what `--cleanup` converges to. */
export function emptyRuleSet(): RuleSet {
  return { chains: { nat: new Map(), filter: new Map() }, jumps: [] };
}

/** Our part of what `iptables-save` shows. */
export interface Installed {
  chains: Record<Table, Map<string, string[]>>;
  /** Rules in any other chain that jump into one of ours. */
  jumps: Jump[];
}

const JUMP_TARGET = new RegExp(`(?:^| )-[jg] (${CHAIN_PREFIX}[A-Za-z0-9_-]+)(?: |$)`);

/** Extracts our chains and the jumps into them from `iptables-save` output; everything else is ignored. */
export function parseSave(text: string): Installed {
  const out: Installed = { chains: { nat: new Map(), filter: new Map() }, jumps: [] };
  let table: Table | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line.startsWith('*')) {
      const t = line.slice(1);
      table = t === 'nat' || t === 'filter' ? t : undefined;
      continue;
    }
    if (!table) continue;
    if (line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0] as string;
      if (name.startsWith(CHAIN_PREFIX)) out.chains[table].set(name, []);
      continue;
    }
    const m = /^-A (\S+) (.*)$/.exec(line);
    if (!m) continue;
    const chain = m[1] as string;
    if (chain.startsWith(CHAIN_PREFIX)) {
      const rules = out.chains[table].get(chain) ?? [];
      rules.push(line);
      out.chains[table].set(chain, rules);
    } else if (JUMP_TARGET.test(m[2] as string)) {
      out.jumps.push({ table, hook: chain, spec: m[2] as string });
    }
  }
  return out;
}

const key = (j: Jump) => `${j.table} ${j.hook} ${j.spec}`;

/** Does the installed set equal the wanted one (every chain, every rule, each jump exactly once)? */
export function inPlace(want: RuleSet, have: Installed): boolean {
  for (const t of ['nat', 'filter'] as const) {
    if (want.chains[t].size !== have.chains[t].size) return false;
    for (const [name, rules] of want.chains[t]) {
      const got = have.chains[t].get(name);
      if (!got || got.length !== rules.length || got.some((r, i) => r !== rules[i])) return false;
    }
  }
  const wanted = want.jumps.map(key).sort();
  const got = have.jumps.map(key).sort();
  return wanted.length === got.length && wanted.every((k, i) => k === got[i]);
}

/**
 * One `iptables-restore --noflush` input that turns `have` into `want`: declaring a chain flushes it (or
 * creates it), missing jumps are inserted first in their hook, extra or stale jumps deleted, chains no
 * longer wanted flushed and removed. Other chains and rules are not named, so they are not touched. The
 * kernel applies each table's part as one transaction: never a moment with half a rule set (I7).
 */
export function restoreText(want: RuleSet, have: Installed): string {
  const lines: string[] = [];
  for (const t of ['nat', 'filter'] as const) {
    const stale = [...have.chains[t].keys()].filter((c) => !want.chains[t].has(c));
    const wantJumps = want.jumps.filter((j) => j.table === t);
    const haveJumps = have.jumps.filter((j) => j.table === t);
    const body: string[] = [];
    for (const name of [...want.chains[t].keys(), ...stale]) body.push(`:${name} - [0:0]`);
    // Jumps first deleted (stale ones and duplicates), then inserted where missing: the deletes name the
    // rule by its spec, which stays valid while the chains they jump to are being refilled.
    const left = new Map<string, number>();
    for (const j of wantJumps) left.set(key(j), 1);
    for (const j of haveJumps) {
      const n = left.get(key(j)) ?? 0;
      if (n > 0) left.set(key(j), n - 1);
      else body.push(`-D ${j.hook} ${j.spec}`);
    }
    for (const j of wantJumps) if ((left.get(key(j)) ?? 0) > 0) body.push(`-I ${j.hook} 1 ${j.spec}`);
    for (const rules of want.chains[t].values()) body.push(...rules);
    for (const name of stale) body.push(`-X ${name}`);
    if (body.length === 0) continue;
    lines.push(`*${t}`, ...body, 'COMMIT');
  }
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}
