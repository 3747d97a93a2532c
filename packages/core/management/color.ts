/**
 * Terminal colours for runserver's output (django/core/management/color.py):
 * only when the stream is a terminal or FORCE_COLOR asks for it, never with
 * NO_COLOR, so logs piped to a file stay plain.
 */
export function supports_color(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0' && env.FORCE_COLOR !== 'false';
  return Boolean(stream.isTTY) && env.TERM !== 'dumb';
}

const CODES = { red: 31, green: 32, yellow: 33, magenta: 35, cyan: 36, bold: 1, dim: 2 } as const;
export type Colour = keyof typeof CODES;

export function paint(text: string, colour: Colour, on: boolean): string {
  return on ? `\x1b[${CODES[colour]}m${text}\x1b[0m` : text;
}

/** Django's runserver colours a request line by its status (color.py's HTTP_* roles). */
export function status_colour(status: number): Colour | undefined {
  if (status >= 500) return 'magenta';
  if (status === 404) return 'yellow';
  if (status >= 400) return 'red';
  if (status === 304) return 'cyan';
  if (status >= 300) return 'green';
  return undefined;
}
