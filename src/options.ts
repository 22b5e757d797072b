import { ConfigError } from './errors';
import { resolveEncoding, type Encoding } from './protocol/wire';

/**
 * How a Reactor's or a Pipeline's calls are written, from its options: the
 * codec and wire format as the user gave them (a codec alone brings its
 * format) and `interopHeaders`, checked.
 */
export function resolveCallEncoding(given: { codec?: unknown; wire?: unknown }, interopHeaders: unknown): Required<Encoding> {
  const { codec, wire } = resolveEncoding('', given.codec, given.wire);
  if (typeof interopHeaders !== 'boolean') throw new ConfigError('interopHeaders', `must be true or false, got ${JSON.stringify(interopHeaders)}`);
  return { codec, wire, interopHeaders };
}
