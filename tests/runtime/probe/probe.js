// The language probe: every feature a published (bundled) Directus extension
// may use, each run on its own so one failure does not hide the others.
// GET /probe/ answers { name: result | { error } } (see tests/runtime/test_language.py).
const D = new Date(Date.UTC(2024, 0, 15, 13, 5, 9));
const syntax = (src) => Function(`"use strict"; ${src}`)();

export const probes = {
  // --- regular expressions
  'regex.property-literal': () => syntax(String.raw`return 'Añb-1'.replace(/[^\p{L}]+/gu, '')`),
  'regex.property-ctor': () => 'Añb-1é'.replace(new RegExp('[^\\p{L}\\p{M}]+', 'gu'), ''),
  'regex.property-negated': () => 'Añb-1'.replace(new RegExp('\\P{L}', 'gu'), '_'),
  'regex.property-general': () => ['A', 'a', '1', '٣', '!'].map((c) => new RegExp('^\\p{Lu}$', 'u').test(c) + '/' + new RegExp('^\\p{Nd}$', 'u').test(c)).join(' '),
  'regex.property-script': () => ['α', 'a', 'ж'].map((c) => new RegExp('\\p{Script=Greek}', 'u').test(c)).join(','),
  'regex.property-script-extensions': () => new RegExp('^\\p{scx=Cyrl}+$', 'u').test('жук'),
  'regex.property-emoji': () => new RegExp('^(\\p{Extended_Pictographic}|\\p{Emoji_Component})+$', 'u').test('👍🏽') + ',' + new RegExp('^(\\p{Extended_Pictographic}|\\p{Emoji_Component})+$', 'u').test('ab'),
  'regex.property-binary': () => new RegExp('^\\p{Alphabetic}+$', 'u').test('Straße') + ',' + new RegExp('^\\p{White_Space}$', 'u').test('\u00a0'),
  'regex.property-in-class-range': () => 'a-Б-3'.match(new RegExp('[\\p{L}0-9]', 'gu')).join(''),
  'regex.property-case-insensitive': () => new RegExp('^\\p{Lu}+$', 'iu').test('abc'),
  'regex.property-astral': () => '𝒳y'.match(new RegExp('\\p{L}', 'gu')).length,
  'regex.property-source-flags': () => { const r = new RegExp('\\p{L}+', 'gu'); return `${r.source} ${r.flags} ${r.unicode} ${r instanceof RegExp}`; },
  'regex.property-lastindex': () => { const r = new RegExp('\\p{L}+', 'gu'); r.exec('12 ab cd'); return r.lastIndex; },
  'regex.property-split': () => 'a1b22c'.split(new RegExp('\\p{Nd}+', 'u')).join('|'),
  'regex.property-matchAll': () => [...'x1 y2'.matchAll(new RegExp('(?<l>\\p{L})(?<d>\\p{Nd})', 'gu'))].map((m) => m.groups.l + m.groups.d + '@' + m.index).join(','),
  'regex.property-from-regexp': () => new RegExp(new RegExp('\\p{L}', 'u'), 'gu').flags,
  'regex.named-groups': () => { const m = /(?<year>\d{4})-(?<month>\d{2})/.exec('on 2024-05'); return `${m.groups.year}/${m.groups.month}`; },
  'regex.named-backreference': () => /^(?<q>['"]).*\k<q>$/.test('"hi"'),
  'regex.named-replace': () => '2024-05'.replace(/(?<y>\d+)-(?<m>\d+)/, '$<m>/$<y>'),
  'regex.lookbehind': () => 'cost $42, tax €7'.match(/(?<=\$)\d+/)[0] + ',' + 'a1 b2'.match(/(?<!a)\d/)[0],
  'regex.dotall': () => /a.b/s.test('a\nb'),
  'regex.sticky': () => { const r = /\d/y; r.lastIndex = 1; return r.test('a1'); },
  'regex.has-indices': () => JSON.stringify(/b(?<c>c)/d.exec('abc').indices.groups.c),
  'regex.unicode-sets-v': () => syntax(String.raw`return /[\p{L}--[a-z]]/v.test('A') + ',' + /[\p{L}--[a-z]]/v.test('a')`),
  'string.matchAll': () => [...'a1b2'.matchAll(/\d/g)].map((m) => m[0]).join(''),
  'string.replaceAll': () => 'a.b.c'.replaceAll('.', '/'),
  'string.at': () => 'abc'.at(-1),
  'string.normalize': () => 'e\u0301'.normalize('NFC').length + ',' + 'é'.normalize('NFD').length,
  'string.isWellFormed': () => 'a\uD800'.isWellFormed(),
  // --- syntax, ES2015..ES2023
  'syntax.optional-chaining-nullish': () => { const o = { a: null }; return `${o?.a?.b ?? 'dflt'}`; },
  'syntax.logical-assignment': () => { let a = null; a ??= 1; let b = 0; b ||= 2; let c = 1; c &&= 3; return [a, b, c].join(); },
  'syntax.numeric-separators': () => 1_000_000,
  'syntax.class-fields-private': () => syntax('class A { #x = 1; static s = 2; static { A.t = 3; } #m() { return this.#x; } get v() { return this.#m() + A.s + A.t; } static has(o) { return #x in o; } } return new A().v + "," + A.has(new A())'),
  'syntax.async-generators': () => syntax('async function* g() { yield 1; } return typeof g().next'),
  'syntax.bigint': () => (2n ** 64n).toString(),
  'syntax.optional-catch': () => { try { throw 1; } catch { return 'caught'; } },
  'syntax.hashbang-module': () => 'checked in tests (a module that starts with #!)',
  // --- built-ins
  'builtin.array-findLast': () => [1, 2, 3, 4].findLast((x) => x % 2) + ',' + [1, 2, 3].findLastIndex((x) => x === 9),
  'builtin.array-change-by-copy': () => { const a = [3, 1, 2]; return [a.toSorted().join(''), a.toReversed().join(''), a.toSpliced(0, 1).join(''), a.with(0, 9).join(''), a.join('')].join(' '); },
  'builtin.array-at-flat': () => [[1, [2]], 3].flat(Infinity).at(-1) + ',' + [1, 2].flatMap((x) => [x, x]).length,
  'builtin.object-hasOwn-fromEntries': () => Object.hasOwn({ a: 1 }, 'a') + ',' + JSON.stringify(Object.fromEntries([['k', 1]])),
  'builtin.object-groupBy': () => JSON.stringify(Object.groupBy([1, 2, 3], (x) => (x % 2 ? 'odd' : 'even'))),
  'builtin.error-cause': () => new Error('outer', { cause: 'inner' }).cause,
  'builtin.aggregate-error': () => new AggregateError([new Error('a')], 'many').errors.length,
  'builtin.weakref': () => typeof new WeakRef({}).deref() + ',' + typeof FinalizationRegistry,
  'builtin.symbol-weakmap-key': () => { const w = new WeakMap(); const s = Symbol('k'); w.set(s, 1); return w.get(s); },
  'builtin.structuredClone': () => JSON.stringify(structuredClone({ a: [1, { b: 2 }] })),
  'builtin.text-encoding': () => new TextDecoder().decode(new TextEncoder().encode('héllo')).length + ',' + new TextEncoder().encode('é').length,
  'builtin.url': () => { const u = new URL('https://example.com/a?b=1'); u.searchParams.set('c', 'd e'); return u.href; },
  'builtin.base64': () => btoa('hi') + ',' + atob('aGk='),
  'builtin.crypto': () => /^[0-9a-f-]{36}$/.test(crypto.randomUUID()) + ',' + crypto.getRandomValues(new Uint8Array(4)).length,
  'builtin.json-bigint-safe': () => JSON.stringify({ d: new Date(0) }),
  'builtin.promise-combinators': async () => {
    const all = await Promise.allSettled([Promise.resolve(1), Promise.reject(new Error('no'))]);
    const any = await Promise.any([Promise.reject(new Error('x')), Promise.resolve('first')]);
    return all.map((r) => r.status).join() + ',' + any;
  },
  'builtin.queueMicrotask': async () => { let ran = false; queueMicrotask(() => { ran = true; }); await null; return ran; },
  // --- Intl and locale-sensitive methods ('en' behaviours)
  'intl.number-decimal': () => new Intl.NumberFormat('en-US').format(1234567.891),
  'intl.number-currency': () => new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' }).format(1234.5) + ' ' + new Intl.NumberFormat('en-US', { style: 'currency', currency: 'EUR' }).format(-3),
  'intl.number-percent': () => new Intl.NumberFormat('en-US', { style: 'percent', maximumFractionDigits: 1 }).format(0.1234),
  'intl.number-fraction-digits': () => new Intl.NumberFormat('en', { minimumFractionDigits: 2, maximumFractionDigits: 2 }).format(3.14159) + ' ' + new Intl.NumberFormat('en', { maximumSignificantDigits: 3 }).format(123456),
  'intl.number-compact': () => new Intl.NumberFormat('en', { notation: 'compact' }).format(1234567),
  'intl.number-unit': () => new Intl.NumberFormat('en', { style: 'unit', unit: 'kilometer' }).format(12),
  'intl.number-formatToParts': () => new Intl.NumberFormat('en-US').formatToParts(1234.5).map((p) => p.type).join(','),
  'intl.number-de': () => new Intl.NumberFormat('de-DE').format(1234567.891),
  'intl.toLocaleString-number': () => (1234567.891).toLocaleString() + ' ' + (1234.5).toLocaleString('en-US', { style: 'currency', currency: 'USD' }),
  'intl.datetime-default': () => new Intl.DateTimeFormat('en-US', { timeZone: 'UTC' }).format(D),
  'intl.datetime-options': () => new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', year: 'numeric', month: 'long', day: 'numeric', weekday: 'long' }).format(D),
  'intl.datetime-time': () => new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false }).format(D),
  'intl.datetime-styles': () => new Intl.DateTimeFormat('en-US', { timeZone: 'UTC', dateStyle: 'medium', timeStyle: 'short' }).format(D),
  'intl.datetime-timezone': () => new Intl.DateTimeFormat('en-US', { timeZone: 'America/New_York', hour: 'numeric', minute: 'numeric' }).format(D),
  'intl.datetime-resolved': () => Intl.DateTimeFormat().resolvedOptions().timeZone,
  'intl.datetime-formatToParts': () => new Intl.DateTimeFormat('en-US', { timeZone: 'UTC' }).formatToParts(D).map((p) => p.type).join(','),
  'intl.toLocaleString-date': () => D.toLocaleString('en-US', { timeZone: 'UTC' }) + ' | ' + D.toLocaleDateString('en-US', { timeZone: 'UTC' }) + ' | ' + D.toLocaleTimeString('en-US', { timeZone: 'UTC' }),
  'intl.toLocaleDateString-options': () => D.toLocaleDateString('en-US', { timeZone: 'UTC', month: 'short', day: 'numeric', year: 'numeric' }),
  'intl.collator': () => ['b', 'a', 'C', 'ä'].sort(new Intl.Collator('en').compare).join('') + ' ' + new Intl.Collator('en', { sensitivity: 'base' }).compare('a', 'A'),
  'intl.collator-numeric': () => ['item10', 'item2', 'item1'].sort(new Intl.Collator('en', { numeric: true }).compare).join(','),
  'intl.localeCompare': () => ['b', 'a', 'C', 'ä'].sort((x, y) => x.localeCompare(y)).join('') + ' ' + 'a'.localeCompare('b') + ' ' + 'a'.localeCompare('A', 'en', { sensitivity: 'base' }),
  'intl.plural': () => [0, 1, 2].map((n) => new Intl.PluralRules('en-US').select(n)).join(',') + ' ' + [1, 2, 3, 4, 11].map((n) => new Intl.PluralRules('en', { type: 'ordinal' }).select(n)).join(','),
  'intl.relative-time': () => new Intl.RelativeTimeFormat('en', { numeric: 'auto' }).format(-1, 'day') + ', ' + new Intl.RelativeTimeFormat('en').format(3, 'hour'),
  'intl.list': () => new Intl.ListFormat('en', { style: 'long', type: 'conjunction' }).format(['a', 'b', 'c']),
  'intl.segmenter': () => [...new Intl.Segmenter('en', { granularity: 'word' }).segment('Hi there')].filter((s) => s.isWordLike).length,
  'intl.display-names': () => new Intl.DisplayNames(['en'], { type: 'region' }).of('US'),
  'intl.supported': () => Intl.NumberFormat.supportedLocalesOf(['en-US', 'de-DE', 'fr']).join(','),
  'intl.getCanonicalLocales': () => Intl.getCanonicalLocales('EN-us').join(),
  'intl.toLocaleUpperCase': () => 'istanbul'.toLocaleUpperCase('en-US'),
};

export default (router) => {
  router.get('/', async () => {
    const out = {};
    for (const [name, fn] of Object.entries(probes)) {
      try {
        out[name] = await fn();
      } catch (e) {
        out[name] = { error: `${e && e.name}: ${e && e.message}` };
      }
    }
    return { status: 200, body: out };
  });
};
