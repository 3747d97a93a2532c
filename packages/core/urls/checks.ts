/**
 * System checks of the URLconf (django/core/checks/urls.py and the check()
 * methods of django/urls/resolvers.py): a URLconf that cannot load, a route
 * with an unknown converter, a route that starts with '/' (urls.W002), an
 * unmatched '<' or '>' (urls.W010). Each message names the route and its file.
 */
import { settings } from '../conf';
import type { CheckMessage } from '../checks';
import { readable_error } from '../views/debug';
import { is_registered_converter } from './converters';
import { PARAM_RE, describe_route, load_urlconf, root_urlconf, type URLEntry } from './resolvers';

/** django.urls.resolvers.RoutePattern's bracket check: the first unmatched bracket, if any. */
function unmatched_bracket(route: string): '<' | '>' | undefined {
  let open = false;
  for (const c of route) {
    if (c === '<') {
      if (open) return '<';
      open = true;
    } else if (c === '>') {
      if (!open) return '>';
      open = false;
    }
  }
  return open ? '<' : undefined;
}

function check_entries(entries: URLEntry[], out: CheckMessage[]): void {
  if (!Array.isArray(entries)) return;
  for (const e of entries) {
    if (!e || (e.kind !== 'pattern' && e.kind !== 'include')) {
      out.push({ level: 'ERROR', id: 'urls.E004', msg: `Your URL pattern ${JSON.stringify(e) ?? String(e)} is invalid. Ensure that urlpatterns is a list of path() entries.` });
      continue;
    }
    const where = `${describe_route(e.route, e.source)}${e.kind === 'pattern' && e.name ? ` [name='${e.name}']` : ''}`;
    // With APPEND_SLASH off a leading slash can be deliberate, so Django skips W002 then.
    if (e.route.startsWith('/') && settings.APPEND_SLASH) {
      out.push({
        level: 'WARNING', id: 'urls.W002',
        msg: `Your URL pattern ${where} has a route beginning with a '/'. Remove this slash as it is unnecessary. ` +
          "If this pattern is targeted in an include(), ensure the include() pattern has a trailing '/'.",
      });
    }
    const bracket = unmatched_bracket(e.route);
    if (bracket) out.push({ level: 'WARNING', id: 'urls.W010', msg: `Your URL pattern ${where} has an unmatched '${bracket}' bracket.` });
    for (const m of e.route.matchAll(PARAM_RE)) {
      const conv = m.groups?.conv;
      if (conv !== undefined && !is_registered_converter(conv)) {
        out.push({
          level: 'ERROR', id: 'urls.E100',
          msg: `URL route ${where} uses invalid converter '${conv}'.`,
          hint: 'Use int, str, slug, uuid or path, or register the converter with register_converter() before the URLconf loads.',
        });
      }
    }
    if (e.kind === 'include') check_entries(e.patterns, out);
  }
}

export function check_url_config(): CheckMessage[] {
  if (settings.ROOT_URLCONF === undefined) return [];
  let entries: URLEntry[];
  try {
    entries = load_urlconf(root_urlconf());
  } catch (err) {
    const e = readable_error(err);
    return [{ level: 'ERROR', id: 'urls.E101', msg: `The URLconf ${JSON.stringify(settings.ROOT_URLCONF)} could not be loaded: ${e.name}: ${first_line(e.message)}` }];
  }
  const out: CheckMessage[] = [];
  check_entries(entries, out);
  return out;
}

function first_line(s: string): string {
  return s.split('\n').find((l) => l.trim() !== '')?.trim() ?? s;
}
