// Before a VM's subnet is released, the cloud is asked about the VM by id (kubernetes#127792: a VM that a
// listing left out is not a VM that is gone). Only an answer of "no such VM" or "terminated" lets the
// release go ahead; a VM the cloud still knows alive, or a lookup that failed, keeps subnet and route.
import type { Logger } from 'pino';
import type { CloudProvider, InstanceLookup } from '../providers/types.ts';

const GONE: ReadonlySet<InstanceLookup> = new Set(['notFound', 'terminated']);

export interface GoneCheck {
  /** Confirmed gone by the cloud: may be released. */
  gone: string[];
  /** Held, with why. */
  held: Array<{ instanceId: string; reason: string }>;
  /** The lookup itself failed (everything is held). */
  error?: string;
}

export async function confirmGone(
  provider: CloudProvider,
  ids: readonly string[],
  signal: AbortSignal,
): Promise<GoneCheck> {
  if (ids.length === 0) return { gone: [], held: [] };
  let answers: Map<string, InstanceLookup>;
  try {
    answers = await provider.lookupInstances(ids, signal);
  } catch (e) {
    if (signal.aborted) throw e;
    const error = e instanceof Error ? e.message : String(e);
    return {
      gone: [],
      held: ids.map((instanceId) => ({ instanceId, reason: `the lookup by id failed (${error})` })),
      error,
    };
  }
  const out: GoneCheck = { gone: [], held: [] };
  for (const id of ids) {
    const a = answers.get(id);
    if (a !== undefined && GONE.has(a)) out.gone.push(id);
    else
      out.held.push({
        instanceId: id,
        reason: a === undefined ? 'the lookup by id gave no answer for it' : `the cloud says it is ${a}`,
      });
  }
  return out;
}

/** One line per held VM: why it keeps its subnet although the inventory has not listed it for releaseAfter. */
export function logHeld(logger: Logger, check: GoneCheck): void {
  for (const h of check.held) {
    logger.warn(
      { instanceId: h.instanceId, reason: h.reason },
      'release held: VM missing from the inventory for releaseAfter, but not confirmed gone by the cloud; subnet and route are kept (check its tag/label, or free it with `routesync release --force`)',
    );
  }
}
