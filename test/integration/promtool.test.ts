// The alert rules and the Grafana dashboard are checked against the real promtool and against the metric
// names the code registers, so a renamed metric or an alert without a rule test fails here.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { RoutesyncMetrics } from '../../src/metrics.ts';

const root = fileURLToPath(new URL('../../', import.meta.url));
const rulesPath = join(root, 'examples/prometheus/routesync-rules.yaml');
const rulesTestPath = join(root, 'examples/prometheus/routesync-rules.test.yaml');
const operatorPath = join(root, 'examples/kubernetes/prometheusrule.yaml');
const dashboardPath = join(root, 'examples/grafana/routesync-dashboard.json');

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: Array<{ name: string; rules: Rule[] }>;
}

function promtool(args: string[], cwd = root): { status: number | null; out: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (r.error && (r.error as NodeJS.ErrnoException).code === 'ENOENT') {
    throw new Error('promtool not found: install it with: apt-get install -y prometheus');
  }
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

/** routesync_* names a PromQL expression reads, folded onto their family (histogram suffixes dropped). */
function metricNamesIn(expr: string, families: Set<string>): string[] {
  const names = new Set<string>();
  for (const [name] of expr.matchAll(/\broutesync_[a-z0-9_]+/g)) {
    const base = name.replace(/_(bucket|sum|count)$/, '');
    names.add(families.has(name) ? name : base);
  }
  return [...names];
}

const rules = parse(readFileSync(rulesPath, 'utf8')) as RuleFile;
const alerts = rules.groups.flatMap((g) => g.rules).filter((r) => r.alert !== undefined);
let registered: Set<string>;
let tmp: string;

beforeAll(async () => {
  registered = new Set(await new RoutesyncMetrics({ provider: 'aws' }).metricNames());
  tmp = mkdtempSync(join(tmpdir(), 'routesync-promtool-'));
});
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('alert rules', () => {
  it('promtool check rules passes', () => {
    const r = promtool(['check', 'rules', rulesPath]);
    expect(r.out).toContain('SUCCESS');
    expect(r.status, r.out).toBe(0);
  });

  it('promtool test rules passes', () => {
    const r = promtool(['test', 'rules', rulesTestPath]);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS');
  });

  it('has the alerts the runbook promises, each with severity, summary and description', () => {
    expect(alerts.map((a) => a.alert).sort()).toEqual(
      [
        'RoutesyncRouteQuotaWarning',
        'RoutesyncRouteQuotaCritical',
        'RoutesyncRouteQuotaExhaustionForecast',
        'RoutesyncRoutesBlockedByQuota',
        'RoutesyncSubnetPoolNearExhaustion',
        'RoutesyncReconcileFailing',
        'RoutesyncNoLeader',
        'RoutesyncMultipleLeaders',
        'RoutesyncSafetyValveHeld',
        'RoutesyncRouteConflict',
      ].sort(),
    );
    for (const a of alerts) {
      expect(['warning', 'critical'], a.alert).toContain(a.labels?.severity);
      expect(a.annotations?.summary, a.alert).toBeTruthy();
      expect(a.annotations?.description?.length ?? 0, a.alert).toBeGreaterThan(80);
    }
  });

  it('every alert has a firing and a non-firing case in the rule test file', () => {
    const t = parse(readFileSync(rulesTestPath, 'utf8')) as {
      rule_files: string[];
      tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts?: unknown[] }> }>;
    };
    expect(t.rule_files).toEqual(['routesync-rules.yaml']);
    const cases = t.tests.flatMap((x) => x.alert_rule_test ?? []);
    for (const a of alerts) {
      const mine = cases.filter((c) => c.alertname === a.alert);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length > 0),
        `${a.alert} has no firing case`,
      ).toBe(true);
      expect(
        mine.some((c) => (c.exp_alerts ?? []).length === 0),
        `${a.alert} has no non-firing case`,
      ).toBe(true);
    }
  });

  it('reads only metrics the code registers', () => {
    for (const r of rules.groups.flatMap((g) => g.rules)) {
      for (const name of metricNamesIn(r.expr, registered))
        expect(registered, `${r.alert ?? r.record}: ${name}`).toContain(name);
    }
  });

  it('the PrometheusRule carries the same groups as the rule file', () => {
    const op = parse(readFileSync(operatorPath, 'utf8')) as {
      apiVersion: string;
      kind: string;
      metadata: { name: string };
      spec: RuleFile;
    };
    expect(op.apiVersion).toBe('monitoring.coreos.com/v1');
    expect(op.kind).toBe('PrometheusRule');
    expect(op.metadata.name).toBeTruthy();
    expect(op.spec.groups).toEqual(rules.groups);
  });
});

describe('Grafana dashboard', () => {
  const dash = JSON.parse(readFileSync(dashboardPath, 'utf8')) as {
    title: string;
    uid: string;
    panels: Array<{ id: number; type: string; title: string; targets?: Array<{ expr: string; refId: string }> }>;
    templating: { list: Array<{ name: string; query?: string | { query: string } }> };
  };
  const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));
  const variableQueries = dash.templating.list.flatMap((v) =>
    typeof v.query === 'object' ? [{ panel: `$${v.name}`, expr: v.query.query }] : [],
  );

  it('parses, with unique panel ids and the panels operators need', () => {
    expect(dash.uid).toBe('routesync');
    const ids = dash.panels.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const all = exprs.map((e) => e.expr).join('\n');
    for (const needed of [
      'routesync_route_table_usage_ratio',
      'routesync_route_table_quota_limit',
      'routesync_routes',
      'routesync_cloud_api_requests_total',
      'routesync_cloud_api_request_duration_seconds_bucket',
      'routesync_reconcile_duration_seconds_bucket',
      'routesync_subnet_pool_allocated',
      'deriv(routesync_route_table_entries',
    ])
      expect(all).toContain(needed);
  });

  it('uses only metric names that exist in the registry', () => {
    expect(exprs.length).toBeGreaterThan(10);
    for (const { panel, expr } of [...exprs, ...variableQueries]) {
      const names = metricNamesIn(expr, registered);
      expect(names.length, `${panel}: no routesync metric in ${expr}`).toBeGreaterThan(0);
      for (const name of names) expect(registered, `${panel}: ${name}`).toContain(name);
    }
  });

  it('every panel query is valid PromQL (checked by promtool with the variables filled in)', () => {
    const file = join(tmp, 'dashboard-queries.yaml');
    const asRules = exprs.map((e, i) => ({
      record: `dashboard:query_${i}`,
      expr: e.expr.replaceAll('$provider', '.*').replaceAll('$table', '.*'),
    }));
    writeFileSync(file, JSON.stringify({ groups: [{ name: 'dashboard', rules: asRules }] }));
    const r = promtool(['check', 'rules', file]);
    expect(r.status, r.out).toBe(0);
  });
});
