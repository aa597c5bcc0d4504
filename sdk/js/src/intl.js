// The `Intl` basics for an engine built without ICU (componentize-js's
// SpiderMonkey has no `Intl` at all): English (en-US conventions) only.
// Every locale is accepted and resolves to `en-US`, as an ICU build falls back
// to its default locale for one it lacks; `supportedLocalesOf` names only
// `en` locales. Time zones: UTC only (the sandbox's clock is UTC); another
// `timeZone` is a RangeError. What is here: NumberFormat (decimal, percent,
// currency, unit, compact), DateTimeFormat (component options, dateStyle and
// timeStyle), Collator (base letters first, then accents, then case; numeric),
// PluralRules, RelativeTimeFormat, ListFormat, and the locale methods built on
// them (`toLocaleString` of numbers, bigints and dates, `localeCompare`).
// Not here: Segmenter, DisplayNames, Locale, other calendars and numbering systems.

const LOCALE = 'en-US';

function canonical(tag) {
  const parts = String(tag).split(/[-_]/);
  if (!/^[a-zA-Z]{2,8}$/.test(parts[0])) throw new RangeError(`Incorrect locale information provided: ${tag}`);
  return parts.map((p, i) => (i === 0 ? p.toLowerCase() : p.length === 2 ? p.toUpperCase() : p.length === 4 ? p[0].toUpperCase() + p.slice(1).toLowerCase() : p.toLowerCase())).join('-');
}

function getCanonicalLocales(locales) {
  if (locales === undefined) return [];
  return [...new Set((typeof locales === 'string' ? [locales] : Array.from(locales)).map(canonical))];
}

function supportedLocalesOf(locales) {
  return getCanonicalLocales(locales).filter((l) => l === 'en' || l.startsWith('en-'));
}

function option(options, name, allowed, fallback) {
  const value = options[name];
  if (value === undefined) return fallback;
  const text = String(value);
  if (allowed && !allowed.includes(text)) throw new RangeError(`Value ${text} out of range for Intl options property ${name}`);
  return text;
}

function digitsOption(options, name, min, max, fallback) {
  const value = options[name];
  if (value === undefined) return fallback;
  const n = Math.floor(Number(value));
  if (!(n >= min && n <= max)) throw new RangeError(`${name} value is out of range.`);
  return n;
}

// ---------------------------------------------------------------- numbers

// The shortest decimal digits of |x| and its exponent: x = 0.d1d2... * 10^exp
function decimalDigits(x, scale = 0) {
  const [mantissa, e] = Math.abs(x).toExponential().split('e');
  return { digits: mantissa.replace('.', ''), exp: Number(e) + 1 + scale };
}

// Round the digits at `keep` digits (half away from zero, as ICU's halfExpand)
function roundDigits({ digits, exp }, keep) {
  if (keep >= digits.length) return { digits, exp };
  if (keep < 0) return { digits: '0', exp: 1 };
  let head = digits.slice(0, keep).split('').map(Number);
  if (Number(digits[keep]) >= 5) {
    let i = head.length - 1;
    while (i >= 0 && head[i] === 9) head[i--] = 0;
    if (i < 0) { head.unshift(1); exp += 1; } else head[i] += 1;
  }
  const text = head.join('');
  return { digits: text === '' ? '0' : text, exp: text === '' ? 1 : exp };
}

// x * 10^scale in decimal (a percent is scaled by 2 without binary rounding: 1.005 -> 100.5%)
function fixed(x, scale, minFrac, maxFrac, minSig, maxSig) {
  let { digits, exp } = decimalDigits(x, scale);
  if (x === 0) { digits = '0'; exp = 1; }
  if (maxSig !== undefined) ({ digits, exp } = roundDigits({ digits, exp }, maxSig));
  else ({ digits, exp } = roundDigits({ digits, exp }, exp + maxFrac));
  let intPart = exp > 0 ? digits.slice(0, exp).padEnd(exp, '0') : '0';
  let frac = exp > 0 ? digits.slice(exp) : '0'.repeat(-exp) + digits;
  frac = frac.replace(/0+$/, '');
  const minFracNeeded = minSig !== undefined ? Math.max(0, minSig - (x === 0 ? 1 : intPart === '0' ? 0 : intPart.length)) : minFrac;
  if (frac.length < minFracNeeded) frac = frac.padEnd(minFracNeeded, '0');
  if (/^0*$/.test(digits)) intPart = '0';
  return { intPart: intPart.replace(/^0+(?=\d)/, ''), frac };
}

const CURRENCY_SYMBOLS = { USD: '$', EUR: '€', GBP: '£', JPY: '¥', CNY: 'CN¥', INR: '₹', KRW: '₩', CAD: 'CA$', AUD: 'A$', MXN: 'MX$', BRL: 'R$', ILS: '₪', VND: '₫', NZD: 'NZ$', TWD: 'NT$', HKD: 'HK$', PHP: '₱' };
const ZERO_DECIMAL = new Set(['JPY', 'KRW', 'VND', 'CLP', 'ISK', 'UGX', 'XAF', 'XOF', 'PYG']);
const CURRENCY_NAMES = { USD: ['US dollar', 'US dollars'], EUR: ['euro', 'euros'], GBP: ['British pound', 'British pounds'], JPY: ['Japanese yen', 'Japanese yen'] };
const UNITS = {
  percent: ['%', 'percent'], kilometer: ['km', 'kilometer'], meter: ['m', 'meter'], centimeter: ['cm', 'centimeter'], millimeter: ['mm', 'millimeter'],
  mile: ['mi', 'mile'], foot: ['ft', 'foot'], inch: ['in', 'inch'], kilogram: ['kg', 'kilogram'], gram: ['g', 'gram'], pound: ['lb', 'pound'],
  liter: ['L', 'liter'], milliliter: ['mL', 'milliliter'], second: ['sec', 'second'], minute: ['min', 'minute'], hour: ['hr', 'hour'],
  day: ['day', 'day'], week: ['wk', 'week'], month: ['mth', 'month'], year: ['yr', 'year'], millisecond: ['ms', 'millisecond'],
  byte: ['byte', 'byte'], kilobyte: ['kB', 'kilobyte'], megabyte: ['MB', 'megabyte'], gigabyte: ['GB', 'gigabyte'], terabyte: ['TB', 'terabyte'],
  celsius: ['°C', 'degree Celsius'], fahrenheit: ['°F', 'degree Fahrenheit'], 'kilometer-per-hour': ['km/h', 'kilometer per hour'], 'mile-per-hour': ['mph', 'mile per hour'],
};
const PLURAL_UNIT_NAMES = { foot: 'feet', inch: 'inches', 'degree Celsius': 'degrees Celsius', 'degree Fahrenheit': 'degrees Fahrenheit', 'kilometer per hour': 'kilometers per hour', 'mile per hour': 'miles per hour' };
const COMPACT = [[1e12, 'T', ' trillion'], [1e9, 'B', ' billion'], [1e6, 'M', ' million'], [1e3, 'K', ' thousand']];

function groupInt(intPart, useGrouping) {
  if (!useGrouping) return [intPart];
  const groups = [];
  for (let end = intPart.length; end > 0; end -= 3) groups.unshift(intPart.slice(Math.max(0, end - 3), end));
  return groups;
}

class NumberFormat {
  #o;
  constructor(locales, options) {
    getCanonicalLocales(locales);
    const o = Object(options ?? {});
    const style = option(o, 'style', ['decimal', 'percent', 'currency', 'unit'], 'decimal');
    const currency = o.currency === undefined ? undefined : String(o.currency).toUpperCase();
    if (style === 'currency' && !currency) throw new TypeError('Currency code is required with currency style.');
    if (currency !== undefined && !/^[A-Z]{3}$/.test(currency)) throw new RangeError(`Invalid currency code : ${o.currency}`);
    const unit = o.unit === undefined ? undefined : String(o.unit);
    if (style === 'unit' && !unit) throw new TypeError('Unit is required with unit style.');
    if (style === 'unit' && !UNITS[unit]) throw new RangeError(`Invalid unit argument for Intl.NumberFormat() '${unit}' (the exthost sandbox knows: ${Object.keys(UNITS).join(', ')})`);
    const notation = option(o, 'notation', ['standard', 'scientific', 'engineering', 'compact'], 'standard');
    const currencyDigits = currency && ZERO_DECIMAL.has(currency) ? 0 : 2;
    const defMin = style === 'currency' && notation !== 'compact' ? currencyDigits : 0;
    const defMax = style === 'currency' && notation !== 'compact' ? currencyDigits : style === 'percent' ? 0 : notation === 'compact' ? 0 : 3;
    const minFrac = digitsOption(o, 'minimumFractionDigits', 0, 100, undefined);
    const maxFrac = digitsOption(o, 'maximumFractionDigits', 0, 100, undefined);
    const resolvedMin = minFrac ?? Math.min(defMin, maxFrac ?? defMin);
    const resolvedMax = maxFrac ?? Math.max(defMax, resolvedMin);
    if (resolvedMin > resolvedMax) throw new RangeError('maximumFractionDigits value is out of range.');
    const hasSig = o.minimumSignificantDigits !== undefined || o.maximumSignificantDigits !== undefined;
    this.#o = {
      locale: LOCALE, numberingSystem: 'latn', style, currency, unit,
      currencyDisplay: option(o, 'currencyDisplay', ['symbol', 'narrowSymbol', 'code', 'name'], 'symbol'),
      unitDisplay: option(o, 'unitDisplay', ['short', 'narrow', 'long'], 'short'),
      minimumIntegerDigits: digitsOption(o, 'minimumIntegerDigits', 1, 21, 1),
      minimumFractionDigits: hasSig ? undefined : resolvedMin,
      maximumFractionDigits: hasSig ? undefined : resolvedMax,
      minimumSignificantDigits: hasSig ? digitsOption(o, 'minimumSignificantDigits', 1, 21, 1) : undefined,
      maximumSignificantDigits: hasSig ? digitsOption(o, 'maximumSignificantDigits', 1, 21, 21) : undefined,
      useGrouping: o.useGrouping === undefined ? (notation === 'compact' ? 'min2' : 'auto') : o.useGrouping === false || o.useGrouping === 'false' ? false : o.useGrouping === true ? 'always' : String(o.useGrouping),
      notation, compactDisplay: option(o, 'compactDisplay', ['short', 'long'], 'short'),
      signDisplay: option(o, 'signDisplay', ['auto', 'never', 'always', 'exceptZero', 'negative'], 'auto'),
    };
    Object.defineProperty(this, 'format', { value: (x) => this.formatToParts(x).map((p) => p.value).join(''), configurable: true });
  }

  formatToParts(value) {
    const o = this.#o;
    let x = typeof value === 'bigint' ? Number(value) : Number(value);
    const parts = [];
    const negative = x < 0 || Object.is(x, -0);
    const sign = o.signDisplay === 'never' ? '' : negative && !(o.signDisplay === 'exceptZero' && x === 0) ? '-' : (o.signDisplay === 'always' || (o.signDisplay === 'exceptZero' && x !== 0 && !Number.isNaN(x))) ? '+' : '';
    if (sign) parts.push({ type: sign === '-' ? 'minusSign' : 'plusSign', value: sign });
    const prefix = o.style === 'currency' && o.currencyDisplay !== 'name' ? (o.currencyDisplay === 'code' ? `${o.currency}\u00a0` : (o.currencyDisplay === 'narrowSymbol' ? (CURRENCY_SYMBOLS[o.currency] ?? o.currency).replace(/^[A-Z]+(?=\W)/, '') : CURRENCY_SYMBOLS[o.currency] ?? `${o.currency}\u00a0`)) : '';
    if (prefix) parts.push({ type: 'currency', value: prefix.replace(/\u00a0$/, '') }, ...(prefix.endsWith('\u00a0') ? [{ type: 'literal', value: '\u00a0' }] : []));
    x = Math.abs(x);
    let scale = o.style === 'percent' ? 2 : 0;
    let suffix = '';
    let shownOne = false;
    if (Number.isNaN(x)) parts.push({ type: 'nan', value: 'NaN' });
    else if (x === Infinity) parts.push({ type: 'infinity', value: '∞' });
    else {
      if (o.notation === 'compact') {
        const found = COMPACT.find(([n]) => x >= n * 0.9995);
        if (found) {
          x = (x * 10 ** scale) / found[0];
          scale = 0;
          suffix = o.compactDisplay === 'long' ? found[2] : found[1];
        }
      }
      const sig = o.maximumSignificantDigits !== undefined;
      const compactSig = o.notation === 'compact' && !sig && o.maximumFractionDigits === 0 && x < 100;
      const { intPart, frac } = fixed(x, scale, o.minimumFractionDigits ?? 0, o.maximumFractionDigits ?? 0, sig ? o.minimumSignificantDigits : undefined, sig ? o.maximumSignificantDigits : compactSig ? 2 : undefined);
      const grouping = o.useGrouping === false ? false : o.useGrouping === 'min2' ? intPart.length >= 5 : true;
      groupInt(intPart.padStart(o.minimumIntegerDigits, '0'), grouping).forEach((g, i) => {
        if (i) parts.push({ type: 'group', value: ',' });
        parts.push({ type: 'integer', value: g });
      });
      if (frac) parts.push({ type: 'decimal', value: '.' }, { type: 'fraction', value: frac });
      shownOne = intPart === '1' && !frac && !suffix; // "1 kilometer", "1.00 US dollars"
      if (suffix) parts.push(...(suffix.startsWith(' ') ? [{ type: 'literal', value: ' ' }] : []), { type: 'compact', value: suffix.trim() });
    }
    if (o.style === 'percent') parts.push({ type: 'percentSign', value: '%' });
    if (o.style === 'currency' && o.currencyDisplay === 'name') {
      const names = CURRENCY_NAMES[o.currency] ?? [o.currency, o.currency];
      parts.push({ type: 'literal', value: ' ' }, { type: 'currency', value: shownOne ? names[0] : names[1] });
    }
    if (o.style === 'unit') {
      const [short, long] = UNITS[o.unit];
      const one = shownOne;
      const shown = o.unitDisplay === 'long' ? (one ? long : PLURAL_UNIT_NAMES[long] ?? `${long}s`) : (o.unit === 'day' && !one ? 'days' : short);
      const tight = o.unitDisplay === 'narrow' || short === '%' || short.startsWith('°');
      parts.push(...(tight ? [] : [{ type: 'literal', value: ' ' }]), { type: 'unit', value: shown });
    }
    return parts;
  }

  resolvedOptions() {
    return Object.fromEntries(Object.entries(this.#o).filter(([, v]) => v !== undefined));
  }

  static supportedLocalesOf(locales) {
    return supportedLocalesOf(locales);
  }
}

// ---------------------------------------------------------------- dates

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
const UTC_NAMES = new Set(['utc', 'etc/utc', 'gmt', 'etc/gmt', 'etc/universal', 'universal', 'zulu', 'etc/zulu', 'uct', 'etc/uct']);
const DATE_STYLES = {
  full: { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' },
  long: { month: 'long', day: 'numeric', year: 'numeric' },
  medium: { month: 'short', day: 'numeric', year: 'numeric' },
  short: { month: 'numeric', day: 'numeric', year: '2-digit' },
};
const TIME_STYLES = {
  full: { hour: 'numeric', minute: '2-digit', second: '2-digit', timeZoneName: 'long' },
  long: { hour: 'numeric', minute: '2-digit', second: '2-digit', timeZoneName: 'short' },
  medium: { hour: 'numeric', minute: '2-digit', second: '2-digit' },
  short: { hour: 'numeric', minute: '2-digit' },
};
const FIELDS = ['weekday', 'era', 'year', 'month', 'day', 'hour', 'minute', 'second', 'fractionalSecondDigits', 'timeZoneName'];

class DateTimeFormat {
  #o;
  constructor(locales, options, defaults = 'date') {
    getCanonicalLocales(locales);
    const o = Object(options ?? {});
    const zone = o.timeZone === undefined ? 'UTC' : String(o.timeZone);
    if (!UTC_NAMES.has(zone.toLowerCase())) {
      throw new RangeError(`Invalid time zone specified: ${zone} (the exthost sandbox knows only UTC)`);
    }
    const picked = {};
    const dateStyle = option(o, 'dateStyle', ['full', 'long', 'medium', 'short'], undefined);
    const timeStyle = option(o, 'timeStyle', ['full', 'long', 'medium', 'short'], undefined);
    for (const f of FIELDS) if (o[f] !== undefined) picked[f] = String(o[f]);
    if ((dateStyle || timeStyle) && Object.keys(picked).length) throw new TypeError(`Can't set option ${Object.keys(picked)[0]} when dateStyle or timeStyle is used`);
    Object.assign(picked, DATE_STYLES[dateStyle], TIME_STYLES[timeStyle]);
    const anyDate = ['weekday', 'year', 'month', 'day'].some((f) => picked[f]);
    const anyTime = ['hour', 'minute', 'second', 'fractionalSecondDigits'].some((f) => picked[f]);
    if (!anyDate && !anyTime) {
      if (defaults !== 'time') Object.assign(picked, { year: 'numeric', month: 'numeric', day: 'numeric' });
      if (defaults !== 'date') Object.assign(picked, { hour: 'numeric', minute: '2-digit', second: '2-digit' });
    }
    if (picked.minute && !picked.hour && picked.second === undefined) picked.minute = picked.minute === '2-digit' ? '2-digit' : 'numeric';
    const hour12 = o.hour12 !== undefined ? Boolean(o.hour12) : o.hourCycle !== undefined ? ['h11', 'h12'].includes(String(o.hourCycle)) : true;
    this.#o = { locale: LOCALE, calendar: 'gregory', numberingSystem: 'latn', timeZone: 'UTC', ...picked, dateStyle, timeStyle, hourCycle: picked.hour ? (hour12 ? 'h12' : 'h23') : undefined, hour12: picked.hour ? hour12 : undefined };
    Object.defineProperty(this, 'format', { value: (d) => this.formatToParts(d).map((p) => p.value).join(''), configurable: true });
  }

  formatToParts(date) {
    const t = date === undefined ? Date.now() : Number(date instanceof Date ? date.getTime() : date);
    if (!Number.isFinite(t)) throw new RangeError('Invalid time value');
    const d = new Date(t);
    const o = this.#o;
    const two = (n) => String(n).padStart(2, '0');
    const parts = [];
    const lit = (value) => parts.push({ type: 'literal', value });
    const year = d.getUTCFullYear();
    const yearText = o.year === '2-digit' ? two(year % 100) : String(year);
    const m = d.getUTCMonth();
    const monthText = { numeric: String(m + 1), '2-digit': two(m + 1), long: MONTHS[m], short: MONTHS[m].slice(0, 3), narrow: MONTHS[m][0] }[o.month];
    const dayText = o.day === '2-digit' ? two(d.getUTCDate()) : String(d.getUTCDate());
    const weekdayText = o.weekday && { long: DAYS[d.getUTCDay()], short: DAYS[d.getUTCDay()].slice(0, 3), narrow: DAYS[d.getUTCDay()][0] }[o.weekday];
    const textMonth = o.month && !['numeric', '2-digit'].includes(o.month);
    const hasDate = o.year || o.month || o.day || o.weekday;
    if (o.weekday) {
      parts.push({ type: 'weekday', value: weekdayText });
      if (o.year || o.month || o.day) lit(', ');
    }
    if (textMonth) {
      if (o.month) parts.push({ type: 'month', value: monthText });
      if (o.day) { lit(' '); parts.push({ type: 'day', value: dayText }); }
      if (o.year) { lit(o.day ? ', ' : ' '); parts.push({ type: 'year', value: yearText }); }
    } else {
      const seq = [];
      if (o.month) seq.push({ type: 'month', value: monthText });
      if (o.day) seq.push({ type: 'day', value: dayText });
      if (o.year) seq.push({ type: 'year', value: yearText });
      seq.forEach((p, i) => { if (i) lit('/'); parts.push(p); });
    }
    if (o.hour || o.minute || o.second) {
      if (hasDate) lit(o.dateStyle === 'full' || o.dateStyle === 'long' ? ' at ' : ', ');
      const h = d.getUTCHours();
      const shownHour = o.hour12 ? (h % 12 === 0 ? 12 : h % 12) : h;
      const timeParts = [];
      if (o.hour) timeParts.push({ type: 'hour', value: o.hour === '2-digit' || (!o.hour12 && o.minute) ? two(shownHour) : String(shownHour) });
      if (o.minute) timeParts.push({ type: 'minute', value: o.hour || o.minute === '2-digit' ? two(d.getUTCMinutes()) : String(d.getUTCMinutes()) });
      if (o.second) timeParts.push({ type: 'second', value: o.hour || o.minute || o.second === '2-digit' ? two(d.getUTCSeconds()) : String(d.getUTCSeconds()) });
      timeParts.forEach((p, i) => { if (i) lit(':'); parts.push(p); });
      if (o.fractionalSecondDigits) { lit('.'); parts.push({ type: 'fractionalSecond', value: String(d.getUTCMilliseconds()).padStart(3, '0').slice(0, Number(o.fractionalSecondDigits)) }); }
      if (o.hour && o.hour12) { lit(' '); parts.push({ type: 'dayPeriod', value: h < 12 ? 'AM' : 'PM' }); }
    }
    if (o.timeZoneName) { lit(' '); parts.push({ type: 'timeZoneName', value: o.timeZoneName === 'long' ? 'Coordinated Universal Time' : 'UTC' }); }
    return parts;
  }

  resolvedOptions() {
    return Object.fromEntries(Object.entries(this.#o).filter(([, v]) => v !== undefined));
  }

  static supportedLocalesOf(locales) {
    return supportedLocalesOf(locales);
  }
}

// ---------------------------------------------------------------- collation

// Latin letters with diacritics -> base letter (NFD's first code point), for Latin-1 and Latin Extended-A
const BASES = 'AAAAAAÆCEEEEIIIIÐNOOOOO×ØUUUUYÞsaaaaaaæceeeeiiiiðnooooo÷øuuuuyþy';
const EXT_A = 'AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiĲĳJjKkĸLlLlLlLlLlNnNnNnŉŊŋOoOoOoŒœRrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs';
function baseOf(ch) {
  const c = ch.codePointAt(0);
  if (c >= 0xc0 && c <= 0xff) return BASES[c - 0xc0];
  if (c >= 0x100 && c <= 0x17f) return EXT_A[c - 0x100] ?? ch;
  return ch;
}

function collationKeys(text, ignorePunctuation) {
  const primary = [];
  const accents = [];
  const cases = [];
  for (const ch of String(text)) {
    if (ch === 'ß') { // ss at the first level, told apart after the accents
      primary.push('s', 's'); accents.push(0xdf, 0xdf); cases.push(0, 0);
      continue;
    }
    if (ignorePunctuation && /[\s!-/:-@[-`{-~\u00a0-\u00bf\u2000-\u206f]/.test(ch)) continue;
    const base = baseOf(ch);
    const lower = base.toLowerCase();
    primary.push(lower);
    accents.push(base === ch ? 0 : ch.codePointAt(0));
    cases.push(lower === base ? 0 : 1); // lower case first, as in en
  }
  return { primary, accents, cases };
}

function primaryWeight(ch) {
  // whitespace and punctuation, then symbols, then digits, then letters (alphabetical), then the rest
  if (/\s/.test(ch)) return [0, ch.codePointAt(0)];
  if (/[!-/:-@[-`{-~]/.test(ch)) return [1, ch.codePointAt(0)];
  if (/[0-9]/.test(ch)) return [2, ch.codePointAt(0)];
  if (/[a-z]/.test(ch)) return [3, ch.codePointAt(0)];
  return [4, ch.codePointAt(0)];
}

function comparePrimary(a, b, numeric) {
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (numeric && /[0-9]/.test(a[i]) && /[0-9]/.test(b[j])) {
      let x = ''; let y = '';
      while (i < a.length && /[0-9]/.test(a[i])) x += a[i++];
      while (j < b.length && /[0-9]/.test(b[j])) y += b[j++];
      x = x.replace(/^0+(?=.)/, ''); y = y.replace(/^0+(?=.)/, '');
      if (x.length !== y.length) return x.length < y.length ? -1 : 1;
      if (x !== y) return x < y ? -1 : 1;
      continue;
    }
    const [ca, va] = primaryWeight(a[i++]);
    const [cb, vb] = primaryWeight(b[j++]);
    if (ca !== cb) return ca < cb ? -1 : 1;
    if (va !== vb) return va < vb ? -1 : 1;
  }
  return i < a.length ? 1 : j < b.length ? -1 : 0;
}

function compareArrays(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

class Collator {
  #o;
  constructor(locales, options) {
    getCanonicalLocales(locales);
    const o = Object(options ?? {});
    const usage = option(o, 'usage', ['sort', 'search'], 'sort');
    this.#o = {
      locale: LOCALE, usage,
      sensitivity: option(o, 'sensitivity', ['base', 'accent', 'case', 'variant'], 'variant'),
      ignorePunctuation: Boolean(o.ignorePunctuation), collation: 'default',
      numeric: Boolean(o.numeric), caseFirst: option(o, 'caseFirst', ['upper', 'lower', 'false'], 'false'),
    };
    Object.defineProperty(this, 'compare', { value: (a, b) => this.#compare(a, b), configurable: true });
  }

  #compare(a, b) {
    const o = this.#o;
    const x = collationKeys(a, o.ignorePunctuation);
    const y = collationKeys(b, o.ignorePunctuation);
    const first = comparePrimary(x.primary, y.primary, o.numeric);
    if (first || o.sensitivity === 'base') return first;
    if (o.sensitivity !== 'case') {
      const second = compareArrays(x.accents, y.accents);
      if (second || o.sensitivity === 'accent') return second;
    }
    const third = compareArrays(x.cases, y.cases);
    return o.caseFirst === 'upper' ? -third : third;
  }

  resolvedOptions() {
    return { ...this.#o };
  }

  static supportedLocalesOf(locales) {
    return supportedLocalesOf(locales);
  }
}

// ---------------------------------------------------------------- plurals, relative time, lists

class PluralRules {
  #type;
  constructor(locales, options) {
    getCanonicalLocales(locales);
    this.#type = option(Object(options ?? {}), 'type', ['cardinal', 'ordinal'], 'cardinal');
  }

  select(value) {
    const n = Math.abs(Number(value));
    if (this.#type === 'ordinal') {
      if (!Number.isInteger(n)) return 'other';
      const ten = n % 10;
      const hundred = n % 100;
      if (ten === 1 && hundred !== 11) return 'one';
      if (ten === 2 && hundred !== 12) return 'two';
      if (ten === 3 && hundred !== 13) return 'few';
      return 'other';
    }
    return n === 1 ? 'one' : 'other';
  }

  resolvedOptions() {
    return { locale: LOCALE, type: this.#type, pluralCategories: this.#type === 'ordinal' ? ['few', 'one', 'two', 'other'] : ['one', 'other'] };
  }

  static supportedLocalesOf(locales) {
    return supportedLocalesOf(locales);
  }
}

const RELATIVE_UNITS = ['year', 'quarter', 'month', 'week', 'day', 'hour', 'minute', 'second'];
const RELATIVE_WORDS = {
  year: ['last year', 'this year', 'next year'], quarter: ['last quarter', 'this quarter', 'next quarter'],
  month: ['last month', 'this month', 'next month'], week: ['last week', 'this week', 'next week'],
  day: ['yesterday', 'today', 'tomorrow'], hour: [null, 'this hour', null], minute: [null, 'this minute', null], second: [null, 'now', null],
};
const SHORT_UNITS = { year: 'yr.', quarter: 'qtr.', month: 'mo.', week: 'wk.', day: 'day', hour: 'hr.', minute: 'min.', second: 'sec.' };

class RelativeTimeFormat {
  #o;
  constructor(locales, options) {
    getCanonicalLocales(locales);
    const o = Object(options ?? {});
    this.#o = { locale: LOCALE, numberingSystem: 'latn', style: option(o, 'style', ['long', 'short', 'narrow'], 'long'), numeric: option(o, 'numeric', ['always', 'auto'], 'always') };
  }

  format(value, unitArg) {
    const unit = String(unitArg).replace(/s$/, '');
    if (!RELATIVE_UNITS.includes(unit)) throw new RangeError(`Invalid unit argument for format() '${unitArg}'`);
    const n = Number(value);
    if (!Number.isFinite(n)) throw new RangeError('Invalid value');
    if (this.#o.numeric === 'auto' && [-1, 0, 1].includes(n)) {
      const word = RELATIVE_WORDS[unit][n + 1];
      if (word) return word;
    }
    const amount = new NumberFormat(LOCALE).format(Math.abs(n));
    const one = Math.abs(n) === 1;
    const name = this.#o.style === 'long' ? `${unit}${one ? '' : 's'}` : unit === 'day' ? (one ? 'day' : 'days') : SHORT_UNITS[unit];
    return n < 0 || Object.is(n, -0) ? `${amount} ${name} ago` : `in ${amount} ${name}`;
  }

  resolvedOptions() {
    return { ...this.#o };
  }

  static supportedLocalesOf(locales) {
    return supportedLocalesOf(locales);
  }
}

class ListFormat {
  #o;
  constructor(locales, options) {
    getCanonicalLocales(locales);
    const o = Object(options ?? {});
    this.#o = { locale: LOCALE, type: option(o, 'type', ['conjunction', 'disjunction', 'unit'], 'conjunction'), style: option(o, 'style', ['long', 'short', 'narrow'], 'long') };
  }

  format(list) {
    const items = Array.from(list ?? [], (x) => {
      if (typeof x !== 'string') throw new TypeError('Iterable yielded a value that is not a string');
      return x;
    });
    const { type, style } = this.#o;
    if (items.length < 2) return items.join('');
    if (type === 'unit') return items.join(style === 'narrow' ? ' ' : ', ');
    const word = type === 'disjunction' ? 'or' : style === 'long' ? 'and' : style === 'short' ? '&' : '';
    if (!word) return items.join(', ');
    if (items.length === 2) return `${items[0]} ${word} ${items[1]}`;
    return `${items.slice(0, -1).join(', ')}, ${word} ${items[items.length - 1]}`;
  }

  resolvedOptions() {
    return { ...this.#o };
  }

  static supportedLocalesOf(locales) {
    return supportedLocalesOf(locales);
  }
}

function define(target, name, value) {
  Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
}

export function installIntl() {
  if (typeof globalThis.Intl !== 'undefined') return;
  const Intl = {};
  // NumberFormat, DateTimeFormat and Collator may also be called without `new`
  const callable = (C) => new Proxy(C, { apply: (target, self, args) => new target(...args) });
  const members = { NumberFormat: callable(NumberFormat), DateTimeFormat: callable(DateTimeFormat), Collator: callable(Collator), PluralRules, RelativeTimeFormat, ListFormat, getCanonicalLocales };
  for (const [name, value] of Object.entries(members)) define(Intl, name, value);
  Object.defineProperty(Intl, Symbol.toStringTag, { value: 'Intl', configurable: true });
  define(globalThis, 'Intl', Intl);
  define(Number.prototype, 'toLocaleString', function toLocaleString(locales, options) {
    return new NumberFormat(locales, options).format(Number.prototype.valueOf.call(this));
  });
  define(BigInt.prototype, 'toLocaleString', function toLocaleString(locales, options) {
    return new NumberFormat(locales, options).format(BigInt.prototype.valueOf.call(this));
  });
  const dateMethod = (name, defaults) => define(Date.prototype, name, {
    [name](locales, options) {
      const t = Date.prototype.getTime.call(this);
      if (Number.isNaN(t)) return 'Invalid Date';
      return new DateTimeFormat(locales, options, defaults).format(t);
    },
  }[name]);
  dateMethod('toLocaleString', 'all');
  dateMethod('toLocaleDateString', 'date');
  dateMethod('toLocaleTimeString', 'time');
  define(String.prototype, 'localeCompare', function localeCompare(that, locales, options) {
    if (this === null || this === undefined) throw new TypeError('String.prototype.localeCompare called on null or undefined');
    return new Collator(locales, options).compare(String(this), String(that));
  });
}
