/**
 * The house naming rule, run by `npm run lint` after the type check:
 *
 *   functions, methods, variables, parameters   snake_case, as Django names them
 *                                                (a word may be an acronym in capitals:
 *                                                require_GET, request.META); module
 *                                                constants may be UPPER_CASE, and a
 *                                                variable holding a class PascalCase
 *   classes, interfaces, type aliases, enums     PascalCase
 *   internals of a class                         #private, not TypeScript's `private`
 *   a leading underscore                         only on the Django hooks in DJANGO_HOOKS
 *
 * Members marked `override` are named by the class they override (Keyv's getClient,
 * Object's toString) and are not checked; nor are object literal keys and the
 * members of interfaces and type literals, which mostly describe other libraries'
 * shapes (option objects, JSON payloads, a client's methods); nor the names in
 * FOREIGN, which another library's interface or the public contract chose. A
 * parameter or destructured binding that nothing reads may be `_` or `_name`,
 * TypeScript's own mark for a deliberately unused one.
 *
 * It reads each file's syntax only (the TypeScript parser, no type check), so it
 * runs in about a second. Usage: ts-node scripts/check_names.ts [dir...]
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';

export const ROOT = join(__dirname, '..');

export const CHECKED = [
  'packages/core', 'packages/sessions', 'packages/messages', 'packages/auth', 'apps', 'bench', 'interop', 'scripts',
  'manage.ts', 'settings.ts', 'urls.ts',
];

/**
 * Django's own single-underscore hooks, kept under their Django names because
 * subclasses (and Django-trained readers) look for them there:
 * django/contrib/sessions/backends/base.py (_get_session_key, _set_session_key,
 * _get_or_create_session_key, _validate_session_key, _get_new_session_key,
 * _get_session, _session, _session_cache, _session_key, _hash),
 * django/contrib/sessions/backends/cache.py, cached_db.py, db.py and file.py (_cache,
 * _get_session_from_db, _key_to_file, _get_storage_path, _expiry_date, _last_modification),
 * django/http/request.py (_get_raw_host, _get_scheme, _current_scheme_host,
 * _encoding, _stream, _read_started, _post, _files, _load_post_and_files),
 * django/http/response.py (_charset, _content_type_for_repr, _resource_closers,
 * _container, _handler_class), django/core/handlers/base.py (_middleware_chain,
 * _get_response, _get_response_async), django/middleware/csrf.py (_accept,
 * _reject, _get_secret / _get_token, _set_csrf_cookie / _set_token,
 * _check_referer, _origin_verified, _check_token, _get_failure_view),
 * django/urls/resolvers.py (_populate, _reverse_with_prefix, _resolve_special),
 * django/contrib/messages/storage/base.py (_get, _store, _prepare, _prepare_messages,
 * _queued_messages, _loaded_messages), django/contrib/messages/storage/cookie.py
 * (_encode, _decode, _update_cookie).
 */
export const DJANGO_HOOKS: ReadonlySet<string> = new Set([
  '_get_session_key', '_set_session_key', '_get_or_create_session_key', '_validate_session_key',
  '_get_new_session_key', '_get_session', '_session', '_session_cache', '_session_key', '_hash',
  '_cache', '_key_to_file', '_get_storage_path', '_expiry_date', '_last_modification', '_get_session_from_db',
  '_get_raw_host', '_get_scheme', '_current_scheme_host', '_encoding', '_stream', '_read_started', '_post', '_files',
  '_load_post_and_files', '_charset', '_content_type_for_repr', '_resource_closers', '_container', '_handler_class',
  '_middleware_chain', '_get_response', '_get_response_async', '_accept', '_reject', '_get_secret',
  '_set_csrf_cookie', '_check_referer', '_origin_verified', '_check_token', '_get_failure_view', '_populate',
  '_reverse_with_prefix', '_resolve_special', '_get_token', '_set_token',
  '_get', '_store', '_prepare', '_prepare_messages', '_queued_messages', '_loaded_messages',
  '_encode', '_decode', '_update_cookie',
]);

/** JavaScript's own protocol names, which a class must spell as JavaScript does. */
const JS_PROTOCOL = new Set(['toString', 'toJSON', 'valueOf', 'then', 'constructor']);

/**
 * Names another library or the public contract chose: a class that implements
 * a foreign interface must spell its methods as the interface does, and a
 * public name in the contract (/work/shared/DESIGN.md) stays as users know it.
 */
const FOREIGN: ReadonlyMap<string, string> = new Map([
  ['getMigrations', "knex's MigrationSource"],
  ['getMigrationName', "knex's MigrationSource"],
  ['getMigration', "knex's MigrationSource"],
  ['defineSettings', 'the public contract (settings.ts files call it)'],
]);

const SNAKE = /^[a-z][a-z0-9]*(_([a-z0-9]+|[A-Z][A-Z0-9]*))*$|^[A-Z][A-Z0-9]*(_[a-z0-9]+)+$/;
const UPPER = /^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/;
const PASCAL = /^[A-Z][a-zA-Z0-9]*$/;

export interface Violation {
  file: string;
  line: number;
  /** Where the name starts, in characters from the start of the file. */
  pos: number;
  name: string;
  why: string;
}

export function files_under(path: string): string[] {
  const full = join(ROOT, path);
  if (statSync(full).isFile()) return path.endsWith('.ts') ? [full] : [];
  const out: string[] = [];
  for (const entry of readdirSync(full, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const child = join(path, entry.name);
    if (entry.isDirectory()) out.push(...files_under(child));
    else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) out.push(join(ROOT, child));
  }
  return out;
}

function has_modifier(node: ts.Node, kind: ts.SyntaxKind): boolean {
  return ts.canHaveModifiers(node) && (ts.getModifiers(node) ?? []).some((m) => m.kind === kind);
}

interface Allow {
  upper?: boolean;
  pascal?: boolean;
  /** A parameter or binding that nothing reads may start with `_` (TypeScript's own mark for a deliberately unused one). */
  unused?: boolean;
}

/** Why `name` breaks the rule for its kind of declaration, or undefined. */
function check_value_name(name: string, allow: Allow): string | undefined {
  if (name === '_' || FOREIGN.has(name)) return undefined;
  if (name.startsWith('_')) {
    if (DJANGO_HOOKS.has(name) || (allow.unused && SNAKE.test(name.replace(/^_+/, '')))) return undefined;
    return 'a leading underscore is kept for Django\'s hooks (scripts/check_names.ts DJANGO_HOOKS); use #private or drop it';
  }
  if (SNAKE.test(name)) return undefined;
  if (allow.upper && UPPER.test(name)) return undefined;
  if (allow.pascal && PASCAL.test(name)) return undefined;
  return 'not snake_case';
}

export function check_file(file: string): Violation[] {
  return check_source(file, readFileSync(file, 'utf8'));
}

/** The violations in `text`, read as the TypeScript file `file`. */
export function check_source(file: string, text: string): Violation[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const found: Violation[] = [];
  const report = (node: ts.Node, name: string, why: string | undefined): void => {
    if (why === undefined) return;
    const pos = node.getStart(source);
    found.push({ file: relative(ROOT, file), line: source.getLineAndCharacterOfPosition(pos).line + 1, pos, name, why });
  };

  // A name that appears once in its function (or file) is declared and never read.
  const unused = (name: ts.Identifier): boolean => {
    let scope: ts.Node = name;
    while (!ts.isSourceFile(scope) && !ts.isFunctionLike(scope)) scope = scope.parent;
    let seen = 0;
    const count = (node: ts.Node): void => {
      if (ts.isIdentifier(node) && node.text === name.text) seen++;
      ts.forEachChild(node, count);
    };
    count(scope);
    return seen === 1;
  };

  const check_binding = (name: ts.BindingName, allow: Allow): void => {
    if (ts.isIdentifier(name)) {
      report(name, name.text, check_value_name(name.text, { ...allow, unused: name.text.startsWith('_') && unused(name) }));
      return;
    }
    for (const element of name.elements) {
      if (ts.isOmittedExpression(element)) continue;
      check_binding(element.name, allow);
    }
  };

  const visit = (node: ts.Node): void => {
    if ((ts.isClassDeclaration(node) || ts.isClassExpression(node)) && node.name) {
      if (!PASCAL.test(node.name.text)) report(node.name, node.name.text, 'classes are PascalCase');
    } else if (ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node) || ts.isEnumDeclaration(node)) {
      if (!PASCAL.test(node.name.text)) report(node.name, node.name.text, 'types are PascalCase');
    } else if (ts.isTypeParameterDeclaration(node)) {
      if (!PASCAL.test(node.name.text)) report(node.name, node.name.text, 'type parameters are PascalCase');
    } else if (ts.isFunctionDeclaration(node) || ts.isFunctionExpression(node)) {
      if (node.name) report(node.name, node.name.text, check_value_name(node.name.text, {}));
    } else if (ts.isVariableDeclaration(node)) {
      check_binding(node.name, { upper: true, pascal: true });
    } else if (ts.isParameter(node)) {
      const is_this = ts.isIdentifier(node.name) && node.name.text === 'this';
      if (!is_this) {
        if (has_modifier(node, ts.SyntaxKind.PrivateKeyword)) {
          report(node.name, node.name.getText(source), 'internals are #private: make it a #field set in the constructor');
        }
        check_binding(node.name, {});
      }
    } else if (
      ts.isMethodDeclaration(node) || ts.isPropertyDeclaration(node) ||
      ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node)
    ) {
      // Object literal methods and accessors have the literal as parent: their keys are a shape, not our names.
      const in_class = ts.isClassLike(node.parent);
      if (in_class && !has_modifier(node, ts.SyntaxKind.OverrideKeyword)) {
        const name = node.name;
        if (ts.isPrivateIdentifier(name)) {
          const bare = name.text.slice(1);
          if (!SNAKE.test(bare) && !UPPER.test(bare)) report(name, name.text, 'not snake_case');
        } else if (ts.isIdentifier(name)) {
          if (has_modifier(node, ts.SyntaxKind.PrivateKeyword)) {
            report(name, name.text, 'internals are #private, not TypeScript\'s `private`');
          } else if (!JS_PROTOCOL.has(name.text)) {
            report(name, name.text, check_value_name(name.text, { upper: !ts.isMethodDeclaration(node) }));
          }
        }
      }
    } else if (ts.isEnumMember(node) && ts.isIdentifier(node.name)) {
      if (!PASCAL.test(node.name.text) && !UPPER.test(node.name.text)) report(node.name, node.name.text, 'enum members are PascalCase or UPPER_CASE');
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function main(): void {
  const paths = process.argv.length > 2 ? process.argv.slice(2) : CHECKED;
  const violations = paths.flatMap((p) => files_under(p)).flatMap(check_file);
  for (const v of violations) console.error(`${v.file}:${v.line}  ${v.name}: ${v.why}`);
  if (violations.length > 0) {
    console.error(`\n${violations.length} naming violation(s); the rule is in scripts/check_names.ts.`);
    process.exitCode = 1;
  }
}

if (require.main === module) main();
