// Hostile EC2 responses (XML) for the shared `hostile` faults: see emulators/shared/hostile.ts.
import type { EmuResponse } from '../shared/types.ts';

const LISTINGS = new Set(['DescribeInstances', 'DescribeRouteTables']);

export function hostileAws(kind: string, action: string, real: EmuResponse): EmuResponse | undefined {
  if (kind === 'error-200') {
    // An error document with status 200: the SDK must not read it as an empty success.
    return {
      ...real,
      body: '<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>InternalError</Code><Message>hostile</Message></Error></Errors><RequestID>hostile-1</RequestID></Response>',
    };
  }
  if (!LISTINGS.has(action)) return undefined;
  const instances = action === 'DescribeInstances';
  let body = real.body;
  switch (kind) {
    case 'empty-listing':
      body = instances
        ? body
            .replace(/<reservationSet>[\s\S]*<\/reservationSet>/, '<reservationSet/>')
            .replace(/<nextToken>[^<]*<\/nextToken>/, '')
        : body.replace(/<routeSet>[\s\S]*?<\/routeSet>/g, '<routeSet/>');
      break;
    case 'missing-fields':
      body = instances
        ? body
            .replace(/<privateIpAddress>[^<]*<\/privateIpAddress>/g, '')
            .replace(/<instanceId>[^<]*<\/instanceId>/g, '')
        : body.replace(/<destinationCidrBlock>[^<]*<\/destinationCidrBlock>/g, '');
      break;
    case 'wrong-types':
      // XML has no types: the nearest equivalent is a value of the wrong shape where a CIDR or IP belongs.
      body = instances
        ? body.replace(
            /<privateIpAddress>[^<]*<\/privateIpAddress>/g,
            '<privateIpAddress><item>1</item></privateIpAddress>',
          )
        : body.replace(
            /<destinationCidrBlock>[^<]*<\/destinationCidrBlock>/g,
            '<destinationCidrBlock>not-a-cidr</destinationCidrBlock>',
          );
      break;
    default:
      return undefined;
  }
  return { ...real, body };
}
