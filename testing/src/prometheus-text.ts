/**
 * A strict parser of the Prometheus text exposition format 0.0.4
 * (https://prometheus.io/docs/instrumenting/exposition_formats/), for tests that must prove a
 * `/metrics` body is valid: anything the format forbids throws a {@link PrometheusTextError}
 * naming the line, instead of being skipped or merged.
 *
 * Beyond the grammar it checks what the format says about families and series: HELP and TYPE
 * at most once per family and before its samples, a family's lines in one group, no series
 * twice, histogram buckets carrying `le` in increasing order with cumulative counts and a `+Inf`
 * bucket equal to `_count`, summary quantiles carrying `quantile` in increasing order, and
 * `_sum`/`_count` present for every histogram and summary series.
 *
 * Values follow Go's `ParseFloat` (the format's reference): decimal floats with exponents, `NaN`
 * and `±Inf` (case-insensitively, which is why prom-client's `Nan` passes). As in Prometheus, a
 * label with an empty value is the same series as no label: `x{a=""}` and `x` are one series.
 */

export type PrometheusMetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface PrometheusSample {
  /** The sample's own name: `x`, `x_bucket`, `x_sum`, `x_count`. */
  name: string;
  /** Labels as written (unescaped), empty values included. */
  labels: Record<string, string>;
  value: number;
  /** Milliseconds since the epoch, when the line carries one. */
  timestamp?: number;
  /** 1-based line number in the parsed text. */
  line: number;
}

export interface PrometheusFamily {
  name: string;
  /** The HELP docstring (unescaped); undefined without a HELP line. */
  help: string | undefined;
  /** From the TYPE line; `untyped` without one. */
  type: PrometheusMetricType;
  samples: PrometheusSample[];
}

export type PrometheusFamilies = Map<string, PrometheusFamily>;

export interface HistogramSeries {
  /** The series' labels, without `le`. */
  labels: Record<string, string>;
  /** Upper bound (`+Inf` is `Infinity`) → cumulative count, in increasing order of bound. */
  buckets: Map<number, number>;
  sum: number;
  count: number;
}

export interface SummarySeries {
  /** The series' labels, without `quantile`. */
  labels: Record<string, string>;
  /** Quantile → value, in increasing order of quantile. */
  quantiles: Map<number, number>;
  sum: number;
  count: number;
}

/** Invalid exposition text; `line` is 1-based, `text` the offending line as written. */
export class PrometheusTextError extends Error {
  override readonly name = 'PrometheusTextError';
  constructor(
    readonly line: number,
    readonly text: string,
    readonly reason: string,
  ) {
    super(`line ${line}: ${reason}: ${JSON.stringify(text)}`);
  }
}

const TYPES: ReadonlySet<string> = new Set<PrometheusMetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
const DECIMAL = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const TIMESTAMP = /^[+-]?\d+$/;

/** A float as Go's `strconv.ParseFloat` reads it (no hex, no underscores, as expfmt); undefined if invalid. */
function parseFloatToken(token: string): number | undefined {
  if (/^[+-]?(?:inf|infinity)$/i.test(token)) return token.startsWith('-') ? -Infinity : Infinity;
  if (/^nan$/i.test(token)) return NaN;
  if (!DECIMAL.test(token)) return undefined;
  const value = Number(token);
  return Number.isFinite(value) ? value : undefined; // out of float64 range: ParseFloat fails
}

/** Series identity: name and labels, empty-valued labels dropped (they are absent in Prometheus). */
function seriesKey(name: string, labels: Record<string, string>, without?: string): string {
  const pairs = Object.entries(labels)
    .filter(([k, v]) => v !== '' && k !== without)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([name, pairs]);
}

interface FamilyState {
  family: PrometheusFamily;
  firstLine: number;
  helpLine?: number;
  typeLine?: number;
}

class Parser {
  private readonly families = new Map<string, FamilyState>();
  private readonly seen = new Map<string, number>();
  private current: FamilyState | undefined;
  private readonly closed = new Set<string>();
  private lineNo = 0;
  private lineText = '';

  constructor(private readonly lines: readonly string[]) {}

  private fail(reason: string, line = this.lineNo, text = this.lineText): never {
    throw new PrometheusTextError(line, text, reason);
  }

  parse(): PrometheusFamilies {
    this.lines.forEach((text, i) => {
      this.lineNo = i + 1;
      this.lineText = text;
      if (text.endsWith('\r')) this.fail('carriage return at the end of the line (lines end with \\n only)');
      const trimmed = text.replace(/^[ \t]+/, '');
      if (trimmed.replace(/[ \t]+$/, '') === '') return;
      if (trimmed.startsWith('#')) this.comment(trimmed.slice(1));
      else this.sampleLine(trimmed);
    });
    for (const state of this.families.values()) this.checkSeries(state.family);
    return new Map([...this.families].map(([name, state]) => [name, state.family]));
  }

  /** Makes `state` the family being read; a family whose group already ended may not resume. */
  private enter(state: FamilyState): void {
    if (this.current === state) return;
    if (this.closed.has(state.family.name)) {
      this.fail(
        `family "${state.family.name}" (from line ${state.firstLine}) continues after family "${this.current?.family.name}": a family's lines must form one group`,
      );
    }
    if (this.current) this.closed.add(this.current.family.name);
    this.current = state;
  }

  private create(name: string): FamilyState {
    const state: FamilyState = { family: { name, help: undefined, type: 'untyped', samples: [] }, firstLine: this.lineNo };
    this.families.set(name, state);
    return state;
  }

  private comment(rest: string): void {
    const m = /^[ \t]*(\S*)/.exec(rest);
    const keyword = m?.[1] ?? '';
    if (keyword !== 'HELP' && keyword !== 'TYPE') return; // a plain comment
    const afterKeyword = rest.slice(m?.[0].length ?? 0);
    if (!/^[ \t]/.test(afterKeyword)) this.fail(`${keyword} line without a metric name`);
    const nameStart = afterKeyword.replace(/^[ \t]+/, '');
    if (nameStart === '') this.fail(`${keyword} line without a metric name`);
    const name = METRIC_NAME.exec(nameStart)?.[0];
    if (name === undefined || (nameStart.length > name.length && !/^[ \t]/.test(nameStart.slice(name.length)))) {
      this.fail(`invalid metric name in ${keyword} line`);
    }
    const tail = nameStart.slice(name.length).replace(/^[ \t]+/, '');
    if (keyword === 'HELP') this.help(name, tail);
    else this.type(name, tail);
  }

  private help(name: string, raw: string): void {
    const state = this.families.get(name) ?? this.create(name);
    if (state.helpLine !== undefined) this.fail(`second HELP line for "${name}" (first at line ${state.helpLine})`);
    if (state.family.samples.length > 0) this.fail(`HELP line for "${name}" after its samples (first at line ${state.family.samples[0]?.line})`);
    this.enter(state);
    let help = '';
    for (let i = 0; i < raw.length; i++) {
      const c = raw[i];
      if (c !== '\\') {
        help += c;
        continue;
      }
      const next = raw[++i];
      if (next === '\\') help += '\\';
      else if (next === 'n') help += '\n';
      else this.fail(`invalid escape "\\${next ?? ''}" in HELP text (only \\\\ and \\n)`);
    }
    state.family.help = help;
    state.helpLine = this.lineNo;
  }

  private type(name: string, raw: string): void {
    const tokens = raw.split(/[ \t]+/).filter(Boolean);
    if (tokens.length !== 1) this.fail(`TYPE line needs exactly one type after the metric name, got ${tokens.length}`);
    const type = tokens[0] ?? '';
    if (!TYPES.has(type)) this.fail(`unknown metric type "${type}" (counter, gauge, histogram, summary or untyped)`);
    // Samples of this family already read under another name (they could not have been grouped yet).
    const parts = type === 'histogram' ? ['_bucket', '_sum', '_count'] : type === 'summary' ? ['_sum', '_count'] : [];
    for (const suffix of parts) {
      const early = this.families.get(name + suffix)?.family.samples[0];
      if (early) this.fail(`TYPE line for "${name}" after its sample "${early.name}" (line ${early.line})`);
    }
    const state = this.families.get(name) ?? this.create(name);
    if (state.typeLine !== undefined) this.fail(`second TYPE line for "${name}" (first at line ${state.typeLine})`);
    if (state.family.samples.length > 0) this.fail(`TYPE line for "${name}" after its samples (first at line ${state.family.samples[0]?.line})`);
    this.enter(state);
    state.family.type = type as PrometheusMetricType;
    state.typeLine = this.lineNo;
  }

  /** The family a sample name belongs to: its own, or the histogram/summary it is a part of. */
  private familyOf(name: string): FamilyState {
    const own = this.families.get(name);
    if (own) return own;
    for (const suffix of ['_bucket', '_sum', '_count']) {
      if (!name.endsWith(suffix)) continue;
      const base = this.families.get(name.slice(0, -suffix.length));
      const type = base?.family.type;
      if (base && (type === 'histogram' || (type === 'summary' && suffix !== '_bucket'))) return base;
    }
    return this.create(name);
  }

  private sampleLine(text: string): void {
    const name = METRIC_NAME.exec(text)?.[0];
    if (name === undefined) this.fail('invalid metric name');
    let pos = name.length;
    const skipBlanks = (): void => {
      while (text[pos] === ' ' || text[pos] === '\t') pos++;
    };
    if (pos < text.length && !/[ \t{]/.test(text[pos] ?? '')) this.fail(`invalid character "${text[pos]}" in metric name`);
    skipBlanks();
    const labels: Record<string, string> = {};
    if (text[pos] === '{') {
      pos++;
      for (;;) {
        skipBlanks();
        if (text[pos] === '}') break;
        const label = LABEL_NAME.exec(text.slice(pos))?.[0];
        if (label === undefined) this.fail(`invalid label name at column ${pos + 1}`);
        if (label.startsWith('__')) this.fail(`label name "${label}" is reserved (names starting with __)`);
        if (Object.hasOwn(labels, label)) this.fail(`duplicate label name "${label}"`);
        pos += label.length;
        skipBlanks();
        if (text[pos] !== '=') this.fail(`expected "=" after label name "${label}"`);
        pos++;
        skipBlanks();
        if (text[pos] !== '"') this.fail(`expected a quoted value for label "${label}"`);
        pos++;
        let value = '';
        for (;;) {
          const c = text[pos++];
          if (c === undefined) this.fail(`unterminated value for label "${label}"`);
          if (c === '"') break;
          if (c !== '\\') {
            value += c;
            continue;
          }
          const next = text[pos++];
          if (next === '\\') value += '\\';
          else if (next === '"') value += '"';
          else if (next === 'n') value += '\n';
          else this.fail(`invalid escape "\\${next ?? ''}" in value of label "${label}" (only \\\\, \\" and \\n)`);
        }
        labels[label] = value;
        skipBlanks();
        if (text[pos] === ',') {
          pos++;
          continue;
        }
        if (text[pos] !== '}') this.fail(`expected "," or "}" after the value of label "${label}"`);
        break;
      }
      pos++;
    }
    const tokens = text.slice(pos).split(/[ \t]+/).filter(Boolean);
    if (tokens.length === 0) this.fail('sample without a value');
    if (tokens.length > 2) this.fail(`unexpected "${tokens[2]}" after the timestamp`);
    const value = parseFloatToken(tokens[0] ?? '');
    if (value === undefined) this.fail(`invalid value "${tokens[0]}"`);
    const sample: PrometheusSample = { name, labels, value, line: this.lineNo };
    if (tokens[1] !== undefined) {
      if (!TIMESTAMP.test(tokens[1])) this.fail(`invalid timestamp "${tokens[1]}" (integer milliseconds)`);
      const ts = BigInt(tokens[1]);
      if (ts > 0x7fffffffffffffffn || ts < -0x8000000000000000n) this.fail(`timestamp "${tokens[1]}" out of int64 range`);
      sample.timestamp = Number(ts);
    }

    const state = this.familyOf(name);
    this.enter(state);
    this.checkSample(state.family, sample);
    const key = seriesKey(name, labels);
    const earlier = this.seen.get(key);
    if (earlier !== undefined) this.fail(`series already given at line ${earlier} (same name and labels)`);
    this.seen.set(key, this.lineNo);
    state.family.samples.push(sample);
  }

  /** What a sample must look like for its family's type. */
  private checkSample(family: PrometheusFamily, s: PrometheusSample): void {
    const { name, type } = family;
    const part = s.name === name ? '' : s.name.slice(name.length);
    const count = (what: string): void => {
      if (Number.isNaN(s.value) || s.value < 0) this.fail(`${what} of "${name}" must be a non-negative number, got ${s.value}`);
    };
    const without = (label: string): void => {
      if (Object.hasOwn(s.labels, label)) this.fail(`"${s.name}" must not carry the "${label}" label`);
    };
    const bound = (label: string): number => {
      const raw = s.labels[label];
      if (raw === undefined) this.fail(`"${s.name}" needs a "${label}" label`);
      const v = parseFloatToken(raw);
      if (v === undefined || Number.isNaN(v)) this.fail(`"${label}" label is not a number: "${raw}"`);
      return v;
    };
    if (type === 'counter' && s.value < 0) this.fail(`counter "${name}" is negative: ${s.value}`);
    if (type === 'histogram') {
      if (part === '') this.fail(`histogram "${name}" has no plain samples: use ${name}_bucket, ${name}_sum, ${name}_count`);
      if (part === '_bucket') {
        bound('le');
        count('bucket count');
      } else {
        without('le');
        if (part === '_count') count('_count');
      }
    }
    if (type === 'summary') {
      if (part === '') {
        const q = bound('quantile');
        if (q < 0 || q > 1) this.fail(`quantile ${q} outside [0, 1]`);
      } else {
        without('quantile');
        if (part === '_count') count('_count');
      }
    }
  }

  /** Per-series rules of histograms and summaries, once all lines are read. */
  private checkSeries(family: PrometheusFamily): void {
    const fail: Fail = (line, reason) => this.fail(reason, line, this.lines[line - 1] ?? '');
    if (family.type === 'histogram') histogramSeriesOf(family, fail);
    if (family.type === 'summary') summarySeriesOf(family, fail);
  }
}

/**
 * Parses exposition text (format 0.0.4) into its metric families, keyed by family name, in the
 * order they appear. Throws {@link PrometheusTextError} naming the first invalid line.
 */
export function parsePrometheusText(text: string): PrometheusFamilies {
  if (text === '') return new Map();
  const lines = text.split('\n');
  if (lines.at(-1) !== '') {
    throw new PrometheusTextError(lines.length, lines.at(-1) ?? '', 'the last line must end with a line feed');
  }
  return new Parser(lines.slice(0, -1)).parse();
}

type Fail = (line: number, reason: string) => never;

/** For families not from {@link parsePrometheusText} (whose series were checked while parsing). */
const failWithoutText: Fail = (line, reason) => {
  throw new PrometheusTextError(line, '', reason);
};

interface SeriesParts {
  labels: Record<string, string>;
  points: Array<{ bound: number; sample: PrometheusSample }>;
  sum?: PrometheusSample;
  count?: PrometheusSample;
  last: number;
}

function group(family: PrometheusFamily, label: 'le' | 'quantile', pointsName: string): SeriesParts[] {
  const series = new Map<string, SeriesParts>();
  for (const s of family.samples) {
    const key = seriesKey(family.name, s.labels, label);
    let parts = series.get(key);
    if (!parts) {
      const labels = { ...s.labels };
      delete labels[label];
      parts = { labels, points: [], last: s.line };
      series.set(key, parts);
    }
    parts.last = s.line;
    if (s.name === pointsName) parts.points.push({ bound: parseFloatToken(s.labels[label] ?? '') ?? NaN, sample: s });
    else if (s.name === `${family.name}_sum`) parts.sum = s;
    else if (s.name === `${family.name}_count`) parts.count = s;
  }
  return [...series.values()];
}

function checkOrder(family: PrometheusFamily, parts: SeriesParts, label: string, fail: Fail): void {
  for (let i = 1; i < parts.points.length; i++) {
    const prev = parts.points[i - 1];
    const cur = parts.points[i];
    if (prev && cur && !(cur.bound > prev.bound)) {
      fail(cur.sample.line, `${label}="${cur.sample.labels[label]}" of "${family.name}" comes after ${label}="${prev.sample.labels[label]}" (line ${prev.sample.line}): must be in increasing order, once each`);
    }
  }
  if (!parts.sum) fail(parts.last, `"${family.name}" series ${JSON.stringify(parts.labels)} has no ${family.name}_sum`);
  if (!parts.count) fail(parts.last, `"${family.name}" series ${JSON.stringify(parts.labels)} has no ${family.name}_count`);
}

/**
 * A histogram family's series (label sets without `le`), in order of appearance, each with its
 * buckets, sum and count. Checks the histogram rules: buckets in increasing `le` with cumulative
 * counts, a `+Inf` bucket equal to `_count`, `_sum` and `_count` present.
 */
export function histogramSeries(family: PrometheusFamily): HistogramSeries[] {
  if (family.type !== 'histogram') throw new TypeError(`"${family.name}" is a ${family.type}, not a histogram`);
  return histogramSeriesOf(family, failWithoutText);
}

/** A summary family's series (label sets without `quantile`), each with its quantiles, sum and count. */
export function summarySeries(family: PrometheusFamily): SummarySeries[] {
  if (family.type !== 'summary') throw new TypeError(`"${family.name}" is a ${family.type}, not a summary`);
  return summarySeriesOf(family, failWithoutText);
}

function histogramSeriesOf(family: PrometheusFamily, fail: Fail): HistogramSeries[] {
  return group(family, 'le', `${family.name}_bucket`).map((parts) => {
    checkOrder(family, parts, 'le', fail);
    const buckets = new Map<number, number>();
    let prev: PrometheusSample | undefined;
    for (const { bound, sample } of parts.points) {
      if (prev && sample.value < prev.value) {
        fail(sample.line, `bucket le="${sample.labels['le']}" of "${family.name}" counts ${sample.value}, less than the ${prev.value} of le="${prev.labels['le']}" (buckets are cumulative)`);
      }
      buckets.set(bound, sample.value);
      prev = sample;
    }
    const inf = buckets.get(Infinity);
    if (inf === undefined) fail(parts.last, `"${family.name}" series ${JSON.stringify(parts.labels)} has no le="+Inf" bucket`);
    const count = parts.count?.value ?? NaN;
    if (inf !== count) fail(parts.count?.line ?? parts.last, `${family.name}_count is ${count} but its le="+Inf" bucket is ${inf}`);
    return { labels: parts.labels, buckets, sum: parts.sum?.value ?? NaN, count };
  });
}

function summarySeriesOf(family: PrometheusFamily, fail: Fail): SummarySeries[] {
  return group(family, 'quantile', family.name).map((parts) => {
    checkOrder(family, parts, 'quantile', fail);
    const quantiles = new Map(parts.points.map(({ bound, sample }) => [bound, sample.value]));
    return { labels: parts.labels, quantiles, sum: parts.sum?.value ?? NaN, count: parts.count?.value ?? NaN };
  });
}

/**
 * The sample of `family` named `name` (default: the family's name) whose label set is exactly
 * `labels`, empty-valued labels counting as absent on both sides (Prometheus' series identity).
 */
export function sample(family: PrometheusFamily | undefined, labels: Record<string, string> = {}, name = family?.name): PrometheusSample | undefined {
  if (!family || name === undefined) return undefined;
  const key = seriesKey(name, labels);
  return family.samples.find((s) => s.name === name && seriesKey(s.name, s.labels) === key);
}
