/**
 * docs/settings.md must document every setting the schema validates: a new key
 * in settings_schema fails this test until it has a row in the reference.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { settings_schema } from '../conf/schema';

const DOC = path.resolve(__dirname, '../../../docs/settings.md');
const doc = fs.readFileSync(DOC, 'utf8');
const names = Object.keys(settings_schema.shape);

/** Every `UPPER_CASE` name written in backticks anywhere on the page. */
const in_backticks = new Set([...doc.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1]));

/** Names that open a row of a reference table: | `NAME` | type | default | what it does | */
const table_rows = new Set([...doc.matchAll(/^\|\s*`([A-Z][A-Z0-9_]*)`\s*\|/gm)].map((m) => m[1]));

describe('docs/settings.md documents every setting of the schema', () => {
  it('the schema has settings to check', () => {
    expect(names).toEqual(expect.arrayContaining(['SECRET_KEY', 'SESSION_ENGINE', 'SESSION_STORE_TIMEOUT']));
  });

  it('names each setting in backticks', () => {
    expect(names.filter((n) => !in_backticks.has(n))).toEqual([]);
  });

  it('gives each setting its own row in a reference table', () => {
    expect(names.filter((n) => !table_rows.has(n))).toEqual([]);
  });
});
