// Where each Alibaba Cloud API is served for a region (the VPC and ECS endpoint tables): VPC and ECS are
// regional, `vpc.<region>.aliyuncs.com` and `ecs.<region>.aliyuncs.com`; the central vpc.aliyuncs.com
// serves only some regions, so a controller in, say, eu-central-1 aimed there fails every call. Quota
// Center has one endpoint for every region. A configured provider.endpoint wins over all of them (the
// emulator, a proxy, a private endpoint).
export type Product = 'vpc' | 'ecs' | 'quotas';

/** Alibaba region ids: cn-hangzhou, ap-southeast-1, cn-shanghai-finance-1, eu-central-1 … */
const REGION = /^[a-z]{2}(-[a-z0-9]+)+$/;

export function isRegionId(region: string): boolean {
  return REGION.test(region);
}

/** The https base URL of `product` for `region`; the override, when given, for every product. */
export function endpointFor(product: Product, region: string, override?: string): string {
  if (override) return override;
  // The region goes into a host name: a malformed one must not become some other host.
  if (!isRegionId(region))
    throw new Error(`provider.region: ${JSON.stringify(region)} is not an Alibaba Cloud region id (e.g. cn-hangzhou)`);
  if (product === 'quotas') return 'https://quotas.aliyuncs.com';
  return `https://${product}.${region}.aliyuncs.com`;
}
