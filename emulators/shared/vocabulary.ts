// How an emulator names its cloud's calls and answers — in its request log, its fault rules and its admin
// API — for the tests, benchmarks and the chaos run that read them: they take these from the emulator's
// table (emulators/clouds.ts) instead of keeping a per-cloud list of their own.

/** A route as the admin state shows it, as far as the vocabulary needs. */
export interface VocabularyRoute {
  destination: string;
  nextHop?: string;
}

export interface EmulatorVocabulary {
  /** The paged listings a controller reads every pass: the inventory and the route tables. */
  listings: readonly string[];
  /** The inventory listing(s). */
  inventoryRead: RegExp;
  /** The inventory listing a controller sends every pass (one of `inventoryRead`). */
  inventoryListing: string;
  /** The error code the cloud answers a call its key may not make: not retried, so a read fails at once. */
  denied: string;
  /**
   * Outcomes of an inventory read that count as a good read: `ok`, and the hostile pages a controller cannot
   * and need not tell from a true answer — overlapping pages (the listing is still complete once each entry
   * is kept once) and, where the cloud reports no total to check a listing against, one that ends early
   * (what that could lead to, a release, waits for the cloud's answer by id).
   */
  goodRead: RegExp;
  /** Every mutating call an apply sends: the route writes plus any per-VM one (AWS's source/dest check). */
  writes: readonly string[];
  /** The calls that write a route table. */
  routeWrites: readonly string[];
  /** Deletes and in-place replaces of routes. */
  destructive: RegExp;
  /** Outcomes that mean the cloud refused a create because the table (or project) was full. */
  quotaError: RegExp;
  /** Routes that do not count against the quota (local/system entries). */
  systemRoute: (r: VocabularyRoute) => boolean;
  /** Where the route quota applies: per table, or per project (GCE: all networks together). */
  quotaScope: 'table' | 'project';
  /** A next hop that is no VM, in the form `POST /_emulator/routes` takes. */
  foreignHop: string;
}
