/**
 * Unknown option names are mistakes (`timeoutMs` for `callTimeoutMs`):
 * refused with a ConfigError that names the option and the closest known
 * one. A leaf module: it imports only the errors.
 */
import { ConfigError } from './errors';

/** Edit distance, for "did you mean". */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]!;
}

/** The known name closest to `name`: one containing it (or contained in it), else within a few edits; undefined if none is close. */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  const containing = known.filter((k) => k.toLowerCase().includes(lower) || lower.includes(k.toLowerCase()));
  const pool = containing.length > 0 ? containing : known.filter((k) => distance(lower, k.toLowerCase()) <= Math.max(2, Math.floor(k.length / 4)));
  return pool.sort((a, b) => distance(lower, a.toLowerCase()) - distance(lower, b.toLowerCase()))[0];
}

/** Throws a ConfigError for the first key of `given` that is not in `known` (`path` prefixes it: `connection.`). */
export function checkKnownOptions(given: object, known: readonly string[], path = ''): void {
  for (const name of Object.keys(given)) {
    if (known.includes(name)) continue;
    const near = closestName(name, known);
    throw new ConfigError(`${path}${name}`, `is not an option${near ? `; did you mean ${path}${near}?` : ''} (known: ${[...known].sort().join(', ')})`);
  }
}
