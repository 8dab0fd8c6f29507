// ip-masq-agent's config file, accepted as is (YAML or JSON, its own key names), so a node that ran
// ip-masq-agent keeps its ConfigMap. Re-read every resync, as ip-masq-agent does.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml } from 'yaml';
import { parseCidr } from '../lib/cidr.ts';
import { parseDuration } from '../lib/duration.ts';

export interface IpMasqSettings {
  nonMasqueradeCIDRs?: string[];
  masqLinkLocal?: boolean;
  /** Milliseconds. */
  resyncInterval?: number;
}

const KNOWN = new Set(['nonMasqueradeCIDRs', 'masqLinkLocal', 'masqLinkLocalIPv6', 'resyncInterval']);

export function parseIpMasqConfig(text: string, path: string): IpMasqSettings {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    throw new Error(`agent.ipMasqAgentConfig: ${path} is not YAML/JSON: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new Error(`agent.ipMasqAgentConfig: ${path} must be a mapping`);
  const d = doc as Record<string, unknown>;
  const where = (k: string) => `agent.ipMasqAgentConfig: ${path}: ${k}`;
  for (const k of Object.keys(d)) if (!KNOWN.has(k)) throw new Error(`${where(k)}: unknown key`);
  const out: IpMasqSettings = {};
  if (d.nonMasqueradeCIDRs !== undefined) {
    if (!Array.isArray(d.nonMasqueradeCIDRs))
      throw new Error(`${where('nonMasqueradeCIDRs')}: must be a list of CIDRs`);
    out.nonMasqueradeCIDRs = d.nonMasqueradeCIDRs.map((c, i) => {
      try {
        if (typeof c !== 'string') throw new Error(`${JSON.stringify(c)} is not a CIDR`);
        parseCidr(c);
        return c;
      } catch (e) {
        throw new Error(`${where(`nonMasqueradeCIDRs.${i}`)}: ${(e as Error).message}`);
      }
    });
  }
  if (d.masqLinkLocal !== undefined) {
    if (typeof d.masqLinkLocal !== 'boolean') throw new Error(`${where('masqLinkLocal')}: must be true or false`);
    out.masqLinkLocal = d.masqLinkLocal;
  }
  if (d.resyncInterval !== undefined) {
    try {
      out.resyncInterval = parseDuration(String(d.resyncInterval));
    } catch {
      throw new Error(`${where('resyncInterval')}: ${JSON.stringify(d.resyncInterval)} is not a duration such as 60s`);
    }
    if (out.resyncInterval < 1000) throw new Error(`${where('resyncInterval')}: must be at least 1s`);
  }
  return out;
}

export async function readIpMasqConfig(path: string): Promise<IpMasqSettings> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(
      `agent.ipMasqAgentConfig: cannot read ${path} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  return parseIpMasqConfig(text, path);
}
