/**
 * The DEBUG 500 page (django/views/debug.py): the source lines around the
 * throwing frame, the request's details, and never a secret: SECRET_KEY,
 * its fallbacks, a database password, the session cookie, an Authorization
 * header and password fields are masked as SafeExceptionReporterFilter masks
 * them. Also the readable log lines runserver writes, coloured only on a
 * terminal or with FORCE_COLOR.
 */
import * as fs from 'node:fs';
import { configure, path, HttpResponse, type HttpRequest } from '@tango/core';
import { Client } from '@tango/core/testing';
import { CLEANSED_SUBSTITUTE, cleanse_setting, parse_stack, readable_error } from '../views/debug';
import { supports_color } from '../management/color';
import { text_line } from '@tango/core/log';
import { missing_table } from '../db_errors';
import { describe_with } from '../testing/services';
import Database from 'better-sqlite3';
import Knex from 'knex';

const SECRET = 'debug-page-secret-key-that-must-never-be-shown-0123456789';
const OLD_SECRET = 'an-old-secret-key-that-must-never-be-shown-either-987654321';
const SESSION_VALUE = 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6';

describe('the DEBUG 500 page', () => {
  let client: Client;
  beforeAll(() => {
    configure({
      SECRET_KEY: SECRET,
      SECRET_KEY_FALLBACKS: [OLD_SECRET],
      DEBUG: true,
      MIDDLEWARE: [],
      ALLOWED_HOSTS: ['127.0.0.1', 'localhost'],
      DATABASES: { default: { ENGINE: 'postgresql', URL: 'postgres://app:hunter2-db-password@db.example:5432/app' } },
      STRIPE_API_KEY: 'sk_live_never_shown',
    }, __dirname);
    client = new Client({ urlpatterns: [path('explode/', explode)] });
  });
  afterAll(() => client.close());

  async function page(): Promise<{ status: number; text: string }> {
    return client.request('POST', '/explode/?q=shoes&access_token=tok-in-the-query', {
      headers: {
        cookie: `sessionid=${SESSION_VALUE}; csrftoken=csrf-cookie-value-123; theme=dark`,
        authorization: 'Bearer bearer-token-value',
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'username=alice&password=pa55word-in-the-form',
    });
  }

  it('shows the error and the source lines around the line that threw', async () => {
    const res = await page();
    expect(res.status).toBe(500);
    expect(res.text).toContain('<title>RangeError at /explode/</title>');
    expect(res.text).toContain('the widget count went negative');
    const lines = fs.readFileSync(__filename, 'utf8').split('\n');
    const at = lines.findLastIndex((l) => l.includes('throw new RangeError(reason);')) + 1;
    expect(res.text).toContain(`<li value="${at}" class="here"><code>  throw new RangeError(reason);</code></li>`);
    // The lines before it are there too, as context.
    expect(res.text).toContain(`<li value="${at - 1}"><code>  const reason = &#x27;the widget count went negative&#x27;;</code></li>`);
    expect(res.text).toContain('debug_page.test.ts</code>, line');
  });

  it('shows the request: query, form, cookies and headers, with the harmless values', async () => {
    const { text } = await page();
    expect(text).toContain('<tr><td><code>q</code></td><td><pre>shoes</pre></td></tr>');
    expect(text).toContain('<tr><td><code>username</code></td><td><pre>alice</pre></td></tr>');
    expect(text).toContain('<tr><td><code>theme</code></td><td><pre>dark</pre></td></tr>');
    expect(text).toContain('<tr><td><code>content-type</code></td><td><pre>application/x-www-form-urlencoded</pre></td></tr>');
  });

  it('never shows SECRET_KEY, its fallbacks, passwords, tokens or the session cookie', async () => {
    const { text } = await page();
    for (const secret of [SECRET, OLD_SECRET, SESSION_VALUE, 'csrf-cookie-value-123', 'bearer-token-value', 'pa55word-in-the-form', 'tok-in-the-query', 'hunter2-db-password', 'sk_live_never_shown']) {
      expect(text).not.toContain(secret);
    }
    expect(text).toContain(`<tr><td><code>SECRET_KEY</code></td><td><pre>&quot;${CLEANSED_SUBSTITUTE}&quot;</pre></td></tr>`);
    expect(text).toContain(`<tr><td><code>sessionid</code></td><td><pre>${CLEANSED_SUBSTITUTE}</pre></td></tr>`);
    expect(text).toContain(`<tr><td><code>password</code></td><td><pre>${CLEANSED_SUBSTITUTE}</pre></td></tr>`);
    expect(text).toContain(`postgres://app:${CLEANSED_SUBSTITUTE}@db.example:5432/app`);
  });

  it('without DEBUG the page is the plain one, with no details', async () => {
    configure({ SECRET_KEY: SECRET, DEBUG: false, MIDDLEWARE: [], ALLOWED_HOSTS: ['127.0.0.1', 'localhost'] }, __dirname);
    try {
      const res = await page();
      expect(res.status).toBe(500);
      expect(res.text).not.toContain('the widget count went negative');
      expect(res.text).not.toContain('Traceback');
    } finally {
      configure({ SECRET_KEY: SECRET, DEBUG: true, MIDDLEWARE: [], ALLOWED_HOSTS: ['127.0.0.1', 'localhost'] }, __dirname);
    }
  });
});

describe('cleanse_setting and stacks', () => {
  it('masks hidden names inside dicts and lists, keeps the rest', () => {
    expect(cleanse_setting('CACHES', { default: { BACKEND: 'redis', LOCATION: 'redis://:pw@h:6379', PASSWORD: 'x' } }))
      .toEqual({ default: { BACKEND: 'redis', LOCATION: `redis://:${CLEANSED_SUBSTITUTE}@h:6379`, PASSWORD: CLEANSED_SUBSTITUTE } });
    expect(cleanse_setting('DEBUG', true)).toBe(true);
  });

  it('parses V8 frames and keeps swc compile errors readable', () => {
    expect(parse_stack('Error: x\n    at fn (/a/b.ts:3:4)\n    at /c/d.ts:5:6\n    at node:internal/x:1:1')).toEqual([
      { fn: 'fn', file: '/a/b.ts', line: 3, column: 4 },
      { fn: '(anonymous)', file: '/c/d.ts', line: 5, column: 6 },
    ]);
    const swc = new Error('  x Expression expected\n    ,-[/p/views.ts:9:1]\n 9 | x = ;\n   :     ^\n   `----\n\n\nCaused by:\n    Syntax Error\n\nStack backtrace:\n   0: <unknown>');
    const e = readable_error(swc);
    expect(e.name).toBe('SyntaxError');
    expect(e.message).toBe('Expression expected (/p/views.ts:9:1)\n 9 | x = ;\n   :     ^');
  });
});

describe("runserver's log lines", () => {
  const record = { name: 'tango.request', level: 'error' as const, msg: 'Internal Server Error: /x/', err: new Error('boom') };
  const when = new Date(Date.UTC(2026, 11, 6, 21, 5, 9));

  it('are one readable line with the stack indented, not JSON', () => {
    const line = text_line(record, false, when);
    expect(line.split('\n')[0]).toBe('[06/Dec/2026 21:05:09] ERROR tango.request: Internal Server Error: /x/');
    expect(line).toContain('\n    Error: boom\n        at ');
  });

  it('are coloured only when asked: a terminal or FORCE_COLOR, never NO_COLOR', () => {
    expect(text_line(record, true, when)).toMatch(/^\x1b\[31m\[06\/Dec\/2026 21:05:09\] ERROR/);
    expect(supports_color({ isTTY: false }, {})).toBe(false);
    expect(supports_color({ isTTY: true }, {})).toBe(true);
    expect(supports_color({ isTTY: false }, { FORCE_COLOR: '1' })).toBe(true);
    expect(supports_color({ isTTY: true }, { FORCE_COLOR: '0' })).toBe(false);
    expect(supports_color({ isTTY: true }, { NO_COLOR: '1' })).toBe(false);
  });
});

// Far from the secrets above: the page shows the source around this line.
function explode(_request: HttpRequest): HttpResponse {
  const reason = 'the widget count went negative';
  throw new RangeError(reason);
}

describe('missing_table: the error that means "run migrate"', () => {
  it("recognises SQLite's no such table", () => {
    const db = new Database(':memory:');
    let caught: unknown;
    try {
      db.prepare('SELECT * FROM django_session').all();
    } catch (err) {
      caught = err;
    }
    db.close();
    expect(missing_table(caught)).toBe('django_session');
    expect(missing_table(new Error('no such column: x'))).toBeUndefined();
  });

  describe_with('TEST_DATABASE_URL')("PostgreSQL's undefined_table (42P01)", (url) => {
    it('names the table', async () => {
      const knex = Knex({ client: 'pg', connection: url });
      try {
        const caught = await knex.raw('SELECT * FROM tango_no_such_table_here').then(() => undefined, (err: unknown) => err);
        expect(missing_table(caught)).toBe('tango_no_such_table_here');
      } finally {
        await knex.destroy();
      }
    });
  });
});
