/**
 * Every package npm installs from the lock file runs on this Node (no
 * EBADENGINE warning on `npm ci`), and light-my-request, whose cookie
 * dependency is overridden to 1.x for that (package.json "overrides"),
 * still writes the Cookie header of Fastify's inject().
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Fastify from 'fastify';
import * as semver from 'semver';

const ROOT = path.resolve(__dirname, '../../..');

interface LockEntry { version?: string; engines?: { node?: string } | string[]; os?: string[]; cpu?: string[]; optional?: boolean }

describe('Node engines', () => {
  it(`every locked package accepts Node ${process.versions.node}`, () => {
    const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> };
    const refused: string[] = [];
    for (const [where, entry] of Object.entries(lock.packages)) {
      // Platform-specific optional packages (swc's binaries for other systems) are never installed here.
      if (entry.os && !entry.os.includes(process.platform)) continue;
      if (entry.cpu && !entry.cpu.includes(process.arch)) continue;
      const range = entry.engines && !Array.isArray(entry.engines) ? entry.engines.node : undefined;
      if (range && !semver.satisfies(process.versions.node, range, { includePrerelease: true })) refused.push(`${where}@${entry.version}: node ${range}`);
    }
    expect(refused).toEqual([]);
  });

  it("Fastify's inject() sends cookies through light-my-request with the overridden cookie package", async () => {
    const app = Fastify();
    app.get('/', async (req) => ({ cookie: req.headers.cookie }));
    const res = await app.inject({ method: 'GET', url: '/', cookies: { a: 'b c', theme: 'dark' } });
    expect(res.json()).toEqual({ cookie: 'a=b%20c; theme=dark' });
    await app.close();
  });
});
