/**
 * fast-check arbitraries for hostile input: odd and huge strings, odd numbers, deep nesting, prototype-
 * pollution keys, and mutations of a valid payload (one field replaced, removed or added), which reach
 * further into a handler than random values do.
 */
import fc from 'fast-check';

/** Keys that pollute prototypes when merged carelessly. */
export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

const WEIRD_STRINGS = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\u202eevil\u202c', // right-to-left override
  'مرحبا بالعالم',
  '🎥🔴👩‍👩‍👧‍👦🏳️‍🌈',
  'e\u0301\u0301\u0301', // combining marks
  '\ud800', // lone surrogates
  '\udfff',
  '\uffff',
  '\ufeff',
  '\r\n\r\n',
  '%00',
  '%2e%2e%2f',
  '../../../../etc/passwd',
  '..\\..\\..\\windows\\win.ini',
  '/etc/passwd',
  'C:\\boot.ini',
  "' OR 1=1 --",
  '"; DROP TABLE streams; --',
  '<script>alert(1)</script>',
  '${jndi:ldap://127.0.0.1/x}',
  '{{constructor.constructor("return process")()}}',
  'NaN',
  'Infinity',
  '-Infinity',
  '-1',
  '-0',
  '1e309',
  '0x10',
  '9'.repeat(400),
  'null',
  'undefined',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'AAAAAAAAAAAA',
  'sk_',
  'Bearer ',
];

/** A string of about `bytes` bytes once JSON-encoded, of one repeated character. */
const hugeString = fc
  .record({ bytes: fc.integer({ min: 1_000, max: 100_000 }), c: fc.constantFrom('x', 'é', '🎥', '\u0000', '\u202e', 'A') })
  .map(({ bytes, c }) => c.repeat(Math.max(1, Math.floor(bytes / Buffer.byteLength(JSON.stringify(c).slice(1, -1))))));

/** `huge: false` for strings that go into URLs (beyond ~16 kB the HTTP parser refuses the request: 431). */
export function hostileString(extra: readonly string[] = [], opts: { huge?: boolean } = {}): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: fc.string({ maxLength: 40 }) },
    { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 30 }) },
    { weight: 4, arbitrary: fc.constantFrom(...WEIRD_STRINGS) },
    ...(extra.length > 0 ? [{ weight: 4, arbitrary: fc.constantFrom(...extra) }] : []),
    ...(opts.huge === false ? [] : [{ weight: 1, arbitrary: hugeString }]),
  );
}

export const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.double(), // NaN and ±Infinity too: JSON sends them as null
  fc.constantFrom(-0, -1, 0, 1, 3, 4, 15, 16, 4320, 4321, 2 ** 31, -(2 ** 31), 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, Number.MIN_VALUE, 0.5),
);

/** `value` nested `depth` levels in objects, arrays, or under "__proto__" keys. */
export function nest(value: unknown, depth: number, kind: 'object' | 'array' | 'proto'): unknown {
  let v = value;
  for (let i = 0; i < depth; i++) v = kind === 'array' ? [v] : kind === 'object' ? { a: v } : withOwn({}, '__proto__', v);
  return v;
}

export const deepValue: fc.Arbitrary<unknown> = fc
  .record({ depth: fc.integer({ min: 20, max: 1000 }), kind: fc.constantFrom('object' as const, 'array' as const, 'proto' as const) })
  .map(({ depth, kind }) => nest('bottom', depth, kind));

/** Objects with prototype-pollution keys as own properties (as JSON.parse makes them). */
export const pollutingObject: fc.Arbitrary<unknown> = fc
  .constantFrom(
    '{"__proto__": {"polluted": "yes"}}',
    '{"constructor": {"prototype": {"polluted": "yes"}}}',
    '{"__proto__": {"toString": "x", "polluted": "yes"}, "streamId": "AAAAAAAAAAAA"}',
    '{"prototype": {"polluted": "yes"}}',
    '[{"__proto__": {"polluted": "yes"}}]',
    '{"a": {"__proto__": {"__proto__": {"polluted": "yes"}}}}',
  )
  .map((text) => JSON.parse(text) as unknown);

/** Sets an own property, even "__proto__". */
export function withOwn<T extends object>(o: T, key: string, value: unknown): T {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
  return o;
}

const objectKey = (extra: readonly string[]) => fc.oneof(fc.constantFrom(...PROTO_KEYS, ...extra), fc.string({ maxLength: 12 }));

/** Any JSON-ish value built from hostile leaves. */
export function hostileValue(extraStrings: readonly string[] = [], extraKeys: readonly string[] = []): fc.Arbitrary<unknown> {
  const leaf = fc.oneof(
    { weight: 6, arbitrary: hostileString(extraStrings) },
    { weight: 3, arbitrary: hostileNumber },
    { weight: 2, arbitrary: fc.constantFrom(null, true, false, undefined) },
    { weight: 1, arbitrary: deepValue },
    { weight: 1, arbitrary: pollutingObject },
  );
  const { value } = fc.letrec<{ value: unknown; array: unknown[]; object: Record<string, unknown> }>((tie) => ({
    value: fc.oneof({ depthSize: 'small', maxDepth: 3 }, leaf, tie('array'), tie('object')),
    array: fc.array(tie('value'), { maxLength: 4 }),
    object: fc.dictionary(objectKey(extraKeys), tie('value'), { maxKeys: 4 }),
  }));
  return value;
}

type Path = (string | number)[];

/** Every path into `v` (objects and arrays), the root excluded. */
export function pathsOf(v: unknown, prefix: Path = []): Path[] {
  if (v === null || typeof v !== 'object') return [];
  const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
  return entries.flatMap(([k, x]) => [[...prefix, k], ...pathsOf(x, [...prefix, k])]);
}

function setPath(base: unknown, path: Path, value: unknown, remove = false): unknown {
  const copy = structuredClone(base) as Record<string | number, unknown>;
  let at = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  const last = path.at(-1)!;
  if (remove) delete at[last];
  else withOwn(at, String(last), value);
  return copy;
}

/** A valid payload, or one with a field replaced, removed or added, or something else entirely. */
export function mutated(base: Record<string, unknown>, extraStrings: readonly string[] = []): fc.Arbitrary<unknown> {
  const paths = pathsOf(base);
  const value = hostileValue(extraStrings, Object.keys(base));
  const field = paths.length > 0 ? fc.constantFrom(...paths) : fc.constant<Path>(['x']);
  return fc.oneof(
    { weight: 1, arbitrary: fc.constant(base) },
    { weight: 3, arbitrary: value },
    { weight: 5, arbitrary: fc.tuple(field, value).map(([p, v]) => setPath(base, p, v)) },
    { weight: 1, arbitrary: field.map((p) => setPath(base, p, undefined, true)) },
    { weight: 2, arbitrary: fc.tuple(objectKey(Object.keys(base)), value).map(([k, v]) => withOwn(structuredClone(base), k, v)) },
    { weight: 1, arbitrary: fc.constant([base]) },
  );
}

/** Printable ASCII (what an HTTP client lets through in a header value). */
export const headerValue: fc.Arbitrary<string> = fc
  .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 })
  .map((v) => v.trim());

/** encodeURIComponent that survives lone surrogates. */
export function encode(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '\ufffd'));
  }
}
