/**
 * "Did you mean …?" for a mistyped command or setting name. Scored like
 * Python's difflib.get_close_matches, which Django's manage.py uses for its
 * unknown-command hint: the Ratcliff/Obershelp ratio, twice the characters
 * in common over the total (ties between equally long common runs may pick
 * another run than difflib, which only matters for near-equal scores).
 */

function matching_characters(a: string, b: string): number {
  if (!a || !b) return 0;
  // The longest common substring, then the same on each side of it.
  let best = 0;
  let at_a = 0;
  let at_b = 0;
  for (let i = 0; i < a.length; i++) {
    for (let j = 0; j < b.length; j++) {
      let k = 0;
      while (i + k < a.length && j + k < b.length && a[i + k] === b[j + k]) k++;
      if (k > best) {
        best = k;
        at_a = i;
        at_b = j;
      }
    }
  }
  if (best === 0) return 0;
  return best + matching_characters(a.slice(0, at_a), b.slice(0, at_b)) + matching_characters(a.slice(at_a + best), b.slice(at_b + best));
}

/** difflib.SequenceMatcher(None, a, b).ratio() for short strings. */
export function similarity(a: string, b: string): number {
  const total = a.length + b.length;
  return total === 0 ? 1 : (2 * matching_characters(a, b)) / total;
}

/** The candidates at least `cutoff` similar to `word`, best first (difflib.get_close_matches). */
export function close_matches(word: string, candidates: Iterable<string>, n = 3, cutoff = 0.6): string[] {
  const scored: Array<[number, string]> = [];
  for (const c of candidates) {
    const score = similarity(word, c);
    if (score >= cutoff) scored.push([score, c]);
  }
  scored.sort((x, y) => y[0] - x[0] || (x[1] < y[1] ? -1 : 1));
  return scored.slice(0, n).map(([, c]) => c);
}
