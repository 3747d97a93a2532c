import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { BaseCommand } from '../base';
import { CommandError } from '../../errors';
import { settings } from '../../conf';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const RESERVED = new Set(['core', 'sessions', 'tango', 'node_modules', 'test', 'apps']);

function files(name: string): Record<string, string> {
  return {
    'views.ts': `import { HttpRequest, HttpResponse } from '@tango/core';

export function index(request: HttpRequest): HttpResponse {
  return new HttpResponse('Hello from ${name}.');
}
`,
    'urls.ts': `import { path } from '@tango/core';
import * as views from './views';

export const urlpatterns = [
  path('', views.index, { name: '${name}-index' }),
];
`,
    'test/views.test.ts': `import { configure } from '@tango/core';
import { Client } from '@tango/core/testing';
import { urlpatterns } from '../urls';

describe('${name} views', () => {
  const client = new Client({ urlpatterns, middleware: [] });
  beforeAll(() => configure({ SECRET_KEY: 'test-secret' }));
  afterAll(() => client.close());

  it('index answers', async () => {
    const res = await client.get('/');
    expect(res.status).toBe(200);
    expect(res.text).toBe('Hello from ${name}.');
  });
});
`,
  };
}

/** django-admin startapp: scaffolds apps/<name> with views, urls and a passing test. */
export default class StartappCommand extends BaseCommand {
  readonly help = 'Creates an app folder apps/<name> with views, urls and a test.';

  override add_arguments(parser: Command): void {
    parser.argument('<name>', 'the app name (a valid identifier)');
    parser.option('--directory <dir>', 'where to create it (default: apps/<name> under the project)');
  }

  handle(args: string[], options: { directory?: string }): void {
    const name = args[0];
    if (!IDENTIFIER.test(name)) throw new CommandError(`'${name}' is not a valid app name. Please make sure the name is a valid identifier.`);
    if (RESERVED.has(name.toLowerCase())) throw new CommandError(`'${name}' conflicts with the name of an existing module. Please try another name.`);
    const target = path.resolve(settings.BASE_DIR, options.directory ?? path.join('apps', name));
    if (fs.existsSync(target)) throw new CommandError(`'${path.relative(settings.BASE_DIR, target) || target}' already exists.`);
    for (const [rel, body] of Object.entries(files(name))) {
      const file = path.join(target, rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, body);
    }
    const rel = path.relative(settings.BASE_DIR, target);
    this.write(`Created app '${name}' in ${rel}/.`);
    this.write(`Next: add '${rel}' to INSTALLED_APPS in settings.ts and path('${name}/', include('./${rel}/urls')) to urls.ts.`);
  }
}
