/**
 * Escaping HTML by default, as Django's templates do: the `html` tag escapes
 * every interpolated value unless it is already safe (a SafeString, made by
 * `html` itself or by `mark_safe`), so user text can only reach a page as text.
 * Mirrors django.utils.html (escape, conditional_escape, format_html) and
 * django.utils.safestring (SafeString, mark_safe).
 */

/** Text known to be HTML: interpolating it into `html` inserts it unchanged. */
export class SafeString {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  toString(): string {
    return this.#value;
  }
}

// django.utils.html.escape's table: the five characters that can end a text node or an attribute value.
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#x27;' };

/** Escapes the text of any value (null and undefined become ''), even a SafeString, as Django's escape() does. */
export function escape(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** Marks trusted HTML as safe. Never pass it anything that holds user input. */
export function mark_safe(value: string | SafeString): SafeString {
  return value instanceof SafeString ? value : new SafeString(value);
}

/** django.utils.html.conditional_escape; an array (a list of rows, say) is each item's HTML, joined. */
function conditional_escape(value: unknown): string {
  if (value instanceof SafeString) return value.toString();
  if (Array.isArray(value)) return value.map(conditional_escape).join('');
  return escape(value);
}

/** html`<p>${name}</p>`: the literal parts are trusted, every interpolated value is escaped unless safe. */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeString {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += conditional_escape(values[i]) + strings[i + 1];
  return new SafeString(out);
}
