// The Aliyun emulator's route writes: CreateRouteEntry/-Entries, DeleteRouteEntry/-Entries, ModifyRouteEntry,
// with a real VPC's route-task and settle rules (one task per table, entries Pending until they settle).
import { parseCidr, type Cidr } from '../../src/lib/cidr.ts';
import { normaliseDestination, type RouteTableState } from './state.ts';
import { errorResponse, okResponse, repeated } from './wire.ts';
import { type AliyunWorld, type Handler, VPC_VERSION } from './world.ts';

/** Only called on destinations normaliseDestination already accepted. */
function parseDest(d: string): Cidr {
  return parseCidr(d);
}

export function writeHandlers(w: AliyunWorld): Record<string, Handler> {
  const { profile, clock, vpc, settleAt, table, namedEntry, busy, nextHopProblem } = w;
  return {
    [`${VPC_VERSION}/CreateRouteEntry`]: (p) => {
      const t = table(p);
      if (!('entries' in t)) return t;
      const raw = p.get('DestinationCidrBlock');
      if (!raw)
        return errorResponse(
          'MissingParameter',
          'The input parameter "DestinationCidrBlock" that is mandatory for processing this request is not supplied.',
        );
      const dest = normaliseDestination(raw);
      if (dest === null) return errorResponse('InvalidCidrBlock.Malformed');
      if (vpc.forbiddenDestination(parseDest(dest))) return errorResponse('InvalidCidrBlock');
      const type = p.get('NextHopType') || 'Instance';
      if (!/^[A-Za-z0-9]+$/.test(type)) return errorResponse('InvalidNextHopType');
      const hop = p.get('NextHopId') ?? '';
      const hopProblem = nextHopProblem(type, hop);
      if (hopProblem) return errorResponse(hopProblem);
      if (t.entries.has(dest)) return errorResponse('InvalidCIDRBlock.Duplicate');
      if (vpc.customCount(t) >= t.quota) return errorResponse('QuotaExceeded');
      const b = busy(t, false);
      if (b) return b;
      const e = vpc.put(
        t,
        {
          destination: dest,
          type: 'Custom',
          nextHopType: type,
          nextHopId: hop,
          name: p.get('RouteEntryName') ?? '',
          description: p.get('Description') ?? '',
        },
        'Pending',
        settleAt(),
        clock.now(),
      );
      t.taskUntil = clock.now() + profile.taskMs;
      return okResponse({ RouteEntryId: e.id });
    },

    [`${VPC_VERSION}/CreateRouteEntries`]: (p) => {
      const items = repeated(p, 'RouteEntries');
      if (items.length === 0)
        return errorResponse(
          'MissingParameter',
          'The input parameter "RouteEntries" that is mandatory for processing this request is not supplied.',
        );
      if (items.length > profile.batchMax)
        return errorResponse('InvalidParameter', `The number of RouteEntries must not exceed ${profile.batchMax}.`);
      const parsed: Array<{
        table: RouteTableState;
        dest: string;
        hop: string;
        type: string;
        name: string;
        description: string;
      }> = [];
      for (const [i, it] of items.entries()) {
        if (!it.RouteTableId) return errorResponse('MissingParam.RouteTableId');
        if (!it.DstCidrBlock)
          return errorResponse(
            'MissingParameter',
            `The input parameter "RouteEntries.${i + 1}.DstCidrBlock" that is mandatory for processing this request is not supplied.`,
          );
        if (!it.NextHop)
          return errorResponse(
            'MissingParameter',
            `The input parameter "RouteEntries.${i + 1}.NextHop" that is mandatory for processing this request is not supplied.`,
          );
        const t = vpc.tables.get(it.RouteTableId);
        if (!t) return errorResponse('InvalidRouteTableId.NotFound');
        const dest = normaliseDestination(it.DstCidrBlock);
        if (dest === null)
          return errorResponse('InvalidCidrBlock.Malformed', `Specified CIDR block is not valid: ${it.DstCidrBlock}`);
        const type = it.NextHopType || 'Instance';
        if (!/^[A-Za-z0-9]+$/.test(type)) return errorResponse('InvalidNextHopType');
        parsed.push({ table: t, dest, hop: it.NextHop, type, name: it.Name ?? '', description: it.Description ?? '' });
      }
      for (const t of new Set(parsed.map((x) => x.table))) {
        const b = busy(t, true);
        if (b) return b;
      }
      const failed: Array<Record<string, string>> = [];
      const ids: string[] = [];
      const touched = new Set<RouteTableState>();
      for (const x of parsed) {
        const fail = (code: string, message: string) =>
          failed.push({ DstCidrBlock: x.dest, NextHop: x.hop, FailedCode: code, FailedMessage: message });
        if (vpc.forbiddenDestination(parseDest(x.dest))) fail('InvalidCidrBlock', 'Specified CIDR block is not valid.');
        else if (x.table.entries.has(x.dest))
          fail(
            'VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE',
            `Specified CIDR block is already exists, entry.cidrBlock=${x.dest}`,
          );
        else if (nextHopProblem(x.type, x.hop)) fail('InvalidNextHop.NotFound', 'Specified next hop does not exist.');
        else if (vpc.customCount(x.table) >= x.table.quota)
          fail(profile.entryQuotaCode, 'Route entry quota exceeded in this route table.');
        else {
          const e = vpc.put(
            x.table,
            {
              destination: x.dest,
              type: 'Custom',
              nextHopType: x.type,
              nextHopId: x.hop,
              name: x.name,
              description: x.description,
            },
            'Pending',
            settleAt(),
            clock.now(),
          );
          ids.push(e.id);
          touched.add(x.table);
        }
      }
      for (const t of touched) t.taskUntil = clock.now() + profile.taskMs;
      return okResponse({
        SuccessCount: ids.length,
        FailedCount: failed.length,
        FailedRouteEntries: failed,
        RouteEntryIds: ids,
      });
    },

    [`${VPC_VERSION}/DeleteRouteEntry`]: (p) => {
      const found = namedEntry(p, 'DestinationCidrBlock');
      if (!('entry' in found)) return found;
      const { entry, byId } = found;
      const hop = p.get('NextHopId');
      if (!entry || (!byId && hop && entry.nextHopId !== hop))
        return errorResponse(byId ? 'InvalidRouteEntryId.NotFound' : 'InvalidRouteEntry.NotFound');
      if (entry.type === 'System') return errorResponse('OperationDenied');
      const t = vpc.tables.get(entry.tableId) as RouteTableState;
      const b = busy(t, false);
      if (b) return b;
      entry.status = 'Deleting';
      entry.settleAt = settleAt();
      t.taskUntil = clock.now() + profile.taskMs;
      return okResponse({});
    },

    [`${VPC_VERSION}/DeleteRouteEntries`]: (p) => {
      const items = repeated(p, 'RouteEntries');
      if (items.length === 0)
        return errorResponse(
          'MissingParameter',
          'The input parameter "RouteEntries" that is mandatory for processing this request is not supplied.',
        );
      if (items.length > profile.batchMax)
        return errorResponse('InvalidParameter', `The number of RouteEntries must not exceed ${profile.batchMax}.`);
      const parsed: Array<{ table: RouteTableState; id?: string; dest?: string; hop?: string }> = [];
      for (const [i, it] of items.entries()) {
        if (!it.RouteTableId) return errorResponse('MissingParam.RouteTableId');
        const t = vpc.tables.get(it.RouteTableId);
        if (!t) return errorResponse('InvalidRouteTableId.NotFound');
        if (!it.RouteEntryId && !(it.DstCidrBlock && it.NextHop)) {
          return errorResponse(
            'MissingParameter',
            `RouteEntries.${i + 1}: give RouteEntryId, or DstCidrBlock and NextHop.`,
          );
        }
        let dest: string | undefined;
        if (it.DstCidrBlock) {
          const d = normaliseDestination(it.DstCidrBlock);
          if (d === null)
            return errorResponse('InvalidCidrBlock.Malformed', `Specified CIDR block is not valid: ${it.DstCidrBlock}`);
          dest = d;
        }
        parsed.push({
          table: t,
          ...(it.RouteEntryId ? { id: it.RouteEntryId } : {}),
          ...(dest ? { dest } : {}),
          ...(it.NextHop ? { hop: it.NextHop } : {}),
        });
      }
      for (const t of new Set(parsed.map((x) => x.table))) {
        const b = busy(t, true);
        if (b) return b;
      }
      const failed: Array<Record<string, string>> = [];
      let ok = 0;
      const touched = new Set<RouteTableState>();
      for (const x of parsed) {
        const e =
          x.id !== undefined
            ? [...x.table.entries.values()].find((v) => v.id === x.id)
            : x.table.entries.get(x.dest as string);
        const fail = (code: string, message: string) =>
          failed.push({
            DstCidrBlock: x.dest ?? e?.destination ?? '',
            NextHop: x.hop ?? e?.nextHopId ?? '',
            FailedCode: code,
            FailedMessage: message,
          });
        if (!e || e.status === 'Deleting' || (x.hop !== undefined && x.id === undefined && e.nextHopId !== x.hop))
          fail('VPC_ROUTER_ENTRY_NOT_EXIST', 'Specified route entry does not exist.');
        else if (e.type === 'System')
          fail('OperationDenied', 'Specified operation is denied as route entry type is system.');
        else {
          e.status = 'Deleting';
          e.settleAt = settleAt();
          touched.add(x.table);
          ok++;
        }
      }
      for (const t of touched) t.taskUntil = clock.now() + profile.taskMs;
      return okResponse({ SuccessCount: ok, FailedCount: failed.length, FailedRouteEntries: failed });
    },

    [`${VPC_VERSION}/ModifyRouteEntry`]: (p) => {
      const found = namedEntry(p, 'RouteEntryId');
      if (!('entry' in found)) return found;
      const { entry, byId } = found;
      if (!entry || entry.status === 'Deleting')
        return errorResponse(byId ? 'InvalidRouteEntryId.NotFound' : 'InvalidRouteEntry.NotFound');
      if (entry.type === 'System') return errorResponse('OperationDenied');
      const newHop = p.get('NewNextHopId');
      const newType = p.get('NewNextHopType') || (newHop ? 'Instance' : undefined);
      const name = p.get('RouteEntryName');
      const description = p.get('Description');
      if (newHop !== undefined) {
        const problem = nextHopProblem(newType as string, newHop);
        if (problem) return errorResponse(problem);
        if (
          newHop === entry.nextHopId &&
          newType === entry.nextHopType &&
          name === undefined &&
          description === undefined
        ) {
          return errorResponse('OperationDenied.NextHopNotChanged');
        }
      }
      const t = vpc.tables.get(entry.tableId) as RouteTableState;
      const hopChanges = newHop !== undefined && (newHop !== entry.nextHopId || newType !== entry.nextHopType);
      if (hopChanges) {
        const b = busy(t, false);
        if (b) return b;
        entry.nextHopId = newHop;
        entry.nextHopType = newType as string;
        entry.status = 'Modifying';
        entry.settleAt = settleAt();
        t.taskUntil = clock.now() + profile.taskMs;
      }
      if (name !== undefined) entry.name = name;
      if (description !== undefined) entry.description = description;
      return okResponse({});
    },
  };
}
