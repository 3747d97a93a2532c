/**
 * Summarises a V8 .cpuprofile (node --cpu-prof): the functions with the most
 * self time, and self time per package/file group.
 *
 *   npx ts-node bench/profile.ts bench/results/profiles/<file>.cpuprofile [--top 25]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './config';

interface CallFrame { functionName: string; url: string; lineNumber: number; columnNumber: number }
interface ProfileNode { id: number; callFrame: CallFrame; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[]; startTime: number; endTime: number }

export interface ProfileRow { name: string; where: string; self_ms: number; pct: number; us_per_req?: number }
export interface ProfileSummary {
  file: string;
  total_ms: number;
  idle_pct: number;
  from_us?: number;
  /** Requests the process served over the profile, when known: rows then show µs per request. */
  requests?: number;
  top: ProfileRow[];
  groups: ProfileRow[];
  /** Inclusive (self + callees) time of the project's own functions (packages/, apps/, bench/). */
  project_inclusive: ProfileRow[];
}

function short_url(url: string): string {
  let u = url.replace(/^file:\/\//, '');
  if (u.startsWith(ROOT)) u = path.relative(ROOT, u);
  return u.replace(/^.*node_modules\//, 'node_modules/');
}

/** node_modules/<pkg>, packages/<pkg>/<dir>, node:internal, (native) … */
function group_of(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native / V8 builtins)';
  const u = short_url(url);
  const nm = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(u);
  if (nm) return nm[1];
  if (u.startsWith('node:')) return u.split('/').slice(0, 2).join('/');
  const pkg = /^(packages\/[^/]+(?:\/[^/]+)?)\//.exec(u);
  if (pkg) return pkg[1];
  return u;
}

/** `from_us`: count only samples taken at or after this process.hrtime (µs), e.g. once the server was ready. */
export function summarise(file: string, top = 25, from_us = 0, requests = 0): ProfileSummary {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const by_id = new Map(profile.nodes.map((n) => [n.id, n]));
  const self_us = new Map<number, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from_us) continue;
    const id = profile.samples[i];
    self_us.set(id, (self_us.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  const total = [...self_us.values()].reduce((a, b) => a + b, 0);
  const fns = new Map<string, ProfileRow>();
  const groups = new Map<string, ProfileRow>();
  let idle = 0;
  for (const [id, us] of self_us) {
    const cf = by_id.get(id)!.callFrame;
    const name = cf.functionName || '(anonymous)';
    if (name === '(idle)') idle += us;
    const where = cf.url ? `${short_url(cf.url)}:${cf.lineNumber + 1}` : '';
    const key = `${name}@${where}`;
    const row = fns.get(key) ?? { name, where, self_ms: 0, pct: 0 };
    row.self_ms += us / 1000;
    fns.set(key, row);
    const g = group_of(cf.url, name);
    const grow = groups.get(g) ?? { name: g, where: '', self_ms: 0, pct: 0 };
    grow.self_ms += us / 1000;
    groups.set(g, grow);
  }
  // Inclusive time of project functions: each node's self time counts for every distinct project frame above it.
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const inclusive = new Map<string, ProfileRow>();
  for (const [id, us] of self_us) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const cf = by_id.get(cur)!.callFrame;
      const u = short_url(cf.url);
      if (!/^(packages|apps|bench)\//.test(u)) continue;
      const key = `${cf.functionName || '(anonymous)'}@${u}:${cf.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const row = inclusive.get(key) ?? { name: cf.functionName || '(anonymous)', where: `${u}:${cf.lineNumber + 1}`, self_ms: 0, pct: 0 };
      row.self_ms += us / 1000;
      inclusive.set(key, row);
    }
  }
  const busy = total - idle;
  const finish = (rows: Iterable<ProfileRow>) => [...rows]
    .filter((r) => r.name !== '(idle)')
    .map((r) => ({
      ...r,
      self_ms: Math.round(r.self_ms * 10) / 10,
      pct: busy > 0 ? Math.round((r.self_ms * 1000 / busy) * 1000) / 10 : 0,
      us_per_req: requests > 0 ? Math.round((r.self_ms * 1000 / requests) * 100) / 100 : undefined,
    }))
    .sort((a, b) => b.self_ms - a.self_ms);
  return {
    file,
    from_us: from_us || undefined,
    total_ms: Math.round(total / 1000),
    idle_pct: total > 0 ? Math.round((idle / total) * 1000) / 10 : 0,
    requests: requests || undefined,
    top: finish(fns.values()).slice(0, top),
    groups: finish(groups.values()).slice(0, 15),
    project_inclusive: finish(inclusive.values()).slice(0, 15),
  };
}

export function format_summary(s: ProfileSummary): string {
  const lines = [`profile ${path.relative(ROOT, s.file)}: ${s.total_ms} ms sampled${s.from_us ? ' after start-up' : ''}, ${s.idle_pct}% idle` +
    `${s.requests ? `, ${s.requests} requests` : ''}; % below are of busy time`];
  const row = (r: ProfileRow, label: string) =>
    `    ${r.pct.toFixed(1).padStart(5)}%  ${r.self_ms.toFixed(0).padStart(7)} ms${r.us_per_req !== undefined ? ` ${r.us_per_req.toFixed(2).padStart(6)} µs/req` : ''}  ${label}`;
  lines.push('  top self time:');
  for (const r of s.top) lines.push(row(r, `${r.name}  ${r.where}`));
  lines.push('  self time by package / file:');
  for (const r of s.groups) lines.push(row(r, r.name));
  if (s.project_inclusive?.length) {
    lines.push('  inclusive time of project functions:');
    for (const r of s.project_inclusive) lines.push(row(r, `${r.name}  ${r.where}`));
  }
  return lines.join('\n');
}

if (require.main === module) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: npx ts-node bench/profile.ts FILE.cpuprofile [--top N] [--from-us T]');
    process.exit(2);
  }
  const i = process.argv.indexOf('--top');
  const f = process.argv.indexOf('--from-us');
  console.log(format_summary(summarise(path.resolve(file), i === -1 ? 25 : Number(process.argv[i + 1]), f === -1 ? 0 : Number(process.argv[f + 1]))));
}
