import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  histogramSeries,
  parsePrometheusText,
  PrometheusTextError,
  sample,
  summarySeries,
  type PrometheusFamily,
} from './prometheus-text.js';

/** The example from https://prometheus.io/docs/instrumenting/exposition_formats/ (text format). */
const SPEC_EXAMPLE = String.raw`# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="0.1"} 33444
http_request_duration_seconds_bucket{le="0.2"} 100392
http_request_duration_seconds_bucket{le="0.5"} 129389
http_request_duration_seconds_bucket{le="1"} 133988
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# Finally a summary, which has a complex representation, too:
# HELP rpc_duration_seconds A summary of the RPC duration in seconds.
# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.01"} 3102
rpc_duration_seconds{quantile="0.05"} 3272
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds{quantile="0.9"} 9001
rpc_duration_seconds{quantile="0.99"} 76656
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
`;

function family(text: string, name: string): PrometheusFamily {
  const f = parsePrometheusText(text).get(name);
  if (!f) throw new Error(`no family ${name}`);
  return f;
}

/** What the parser threw for `text`, which must be a PrometheusTextError. */
function rejection(text: string): PrometheusTextError {
  try {
    parsePrometheusText(text);
  } catch (err) {
    if (err instanceof PrometheusTextError) return err;
    throw err;
  }
  throw new Error(`accepted:\n${text}`);
}

/** Label value and HELP escaping as the format defines them (what a client library writes). */
const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const escapeHelp = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');

describe('parsePrometheusText', () => {
  it('parses the format specification’s example into its families', () => {
    const f = parsePrometheusText(SPEC_EXAMPLE);
    expect([...f.keys()]).toEqual([
      'http_requests_total',
      'msdos_file_access_time_seconds',
      'metric_without_timestamp_and_labels',
      'something_weird',
      'http_request_duration_seconds',
      'rpc_duration_seconds',
    ]);

    const requests = f.get('http_requests_total');
    expect(requests).toMatchObject({ name: 'http_requests_total', help: 'The total number of HTTP requests.', type: 'counter' });
    expect(requests?.samples).toEqual([
      { name: 'http_requests_total', labels: { method: 'post', code: '200' }, value: 1027, timestamp: 1395066363000, line: 3 },
      { name: 'http_requests_total', labels: { method: 'post', code: '400' }, value: 3, timestamp: 1395066363000, line: 4 },
    ]);

    expect(f.get('msdos_file_access_time_seconds')).toEqual({
      name: 'msdos_file_access_time_seconds',
      help: undefined,
      type: 'untyped',
      samples: [
        {
          name: 'msdos_file_access_time_seconds',
          labels: { path: 'C:\\DIR\\FILE.TXT', error: 'Cannot find file:\n"FILE.TXT"' },
          value: 1.458255915e9,
          line: 7,
        },
      ],
    });
    expect(sample(f.get('metric_without_timestamp_and_labels'))).toEqual({
      name: 'metric_without_timestamp_and_labels',
      labels: {},
      value: 12.47,
      line: 10,
    });
    expect(sample(f.get('something_weird'), { problem: 'division by zero' })).toMatchObject({ value: Infinity, timestamp: -3982045 });

    const histogram = f.get('http_request_duration_seconds');
    expect(histogram).toMatchObject({ type: 'histogram', help: 'A histogram of the request duration.' });
    expect(histogram?.samples).toHaveLength(8);
    expect(histogramSeries(histogram!)).toEqual([
      {
        labels: {},
        buckets: new Map([
          [0.05, 24054],
          [0.1, 33444],
          [0.2, 100392],
          [0.5, 129389],
          [1, 133988],
          [Infinity, 144320],
        ]),
        sum: 53423,
        count: 144320,
      },
    ]);

    const summary = f.get('rpc_duration_seconds');
    expect(summary).toMatchObject({ type: 'summary', help: 'A summary of the RPC duration in seconds.' });
    expect(summarySeries(summary!)).toEqual([
      {
        labels: {},
        quantiles: new Map([
          [0.01, 3102],
          [0.05, 3272],
          [0.5, 4773],
          [0.9, 9001],
          [0.99, 76656],
        ]),
        sum: 1.7560473e7,
        count: 2693,
      },
    ]);
  });

  it('accepts what the format allows: blanks, tabs, comments, trailing commas, metadata without samples', () => {
    const text = [
      '',
      '   ',
      '# a plain comment, # HELP-looking or not',
      '#',
      '  # TYPE   a\tgauge  ',
      '# HELP a',
      '\ta { x = "1" , y="2", } 1e3  ',
      'a{} 2',
      'a{x="2"}3',
      '# TYPE only_metadata counter',
      '# HELP only_metadata No samples yet.',
      'values{v="1"} -1.5E-3',
      'values{v="2"} .5',
      'values{v="3"} 5.',
      'values{v="4"} -Inf',
      'values{v="5"} NaN',
      'values{v="6"} Nan',
      'values{v="7"} +inf 0',
      'values{v="8"} 0 -9223372036854775808',
      '',
    ].join('\n');
    const f = parsePrometheusText(text);
    expect(f.get('a')).toMatchObject({ type: 'gauge', help: '' });
    expect(f.get('a')?.samples.map((s) => [s.labels, s.value])).toEqual([
      [{ x: '1', y: '2' }, 1000],
      [{}, 2],
      [{ x: '2' }, 3],
    ]);
    expect(f.get('only_metadata')).toEqual({ name: 'only_metadata', help: 'No samples yet.', type: 'counter', samples: [] });
    expect(f.get('values')?.samples.map((s) => s.value)).toEqual([-0.0015, 0.5, 5, -Infinity, NaN, NaN, Infinity, 0]);
    expect(parsePrometheusText('')).toEqual(new Map());
  });

  it('treats an empty label value as no label, as Prometheus does', () => {
    const f = family('x{a="1",b=""} 4\n', 'x');
    expect(sample(f, { a: '1' })?.value).toBe(4);
    expect(sample(f, { a: '1', b: '' })?.value).toBe(4);
    expect(sample(f, { a: '2' })).toBeUndefined();
    expect(f.samples[0]?.labels).toEqual({ a: '1', b: '' });
  });

  it('round-trips escapes in label values and HELP text', () => {
    const values = ['plain', 'back\\slash', 'quote"d', 'new\nline', '\\n literally', '\\"', 'trailing\\', 'ünïcødé ✓ {x="y"}, #', ''];
    const lines = ['# HELP esc ' + escapeHelp('help with \\ and\nnewline and "quotes"'), '# TYPE esc gauge'];
    values.forEach((v, i) => lines.push(`esc{i="${i}",v="${escapeLabel(v)}"} ${i}`));
    const f = family(lines.join('\n') + '\n', 'esc');
    expect(f.help).toBe('help with \\ and\nnewline and "quotes"');
    expect(f.samples.map((s) => s.labels['v'])).toEqual(values);
  });

  it('round-trips escapes through prom-client', async () => {
    const registry = new Registry();
    const g = new Gauge({ name: 'esc', help: 'a \\ b\nc "d"', labelNames: ['v'], registers: [registry] });
    const values = ['back\\slash', 'quote"d', 'new\nline', '\\n'];
    values.forEach((v, i) => g.set({ v }, i));
    const f = family(await registry.metrics(), 'esc');
    expect(f.help).toBe('a \\ b\nc "d"');
    expect(f.samples.map((s) => [s.labels['v'], s.value])).toEqual(values.map((v, i) => [v, i]));
  });

  describe('rejects invalid text, naming the line', () => {
    const cases: Array<[what: string, text: string, line: number, message: RegExp]> = [
      ['an invalid metric name', 'ok 1\n1abc 1\n', 2, /invalid metric name/],
      ['a character not allowed in a metric name', 'foo-bar 1\n', 1, /invalid character "-" in metric name/],
      ['an invalid label name', 'foo{1a="x"} 1\n', 1, /invalid label name/],
      ['a reserved label name', 'foo{__name__="x"} 1\n', 1, /"__name__" is reserved/],
      ['an unquoted label value', 'foo{a=x} 1\n', 1, /expected a quoted value for label "a"/],
      ['an unterminated label value', 'foo{a="x} 1\n', 1, /unterminated value for label "a"/],
      ['an unknown escape in a label value', 'foo{a="x\\ty"} 1\n', 1, /invalid escape "\\t" in value of label "a"/],
      ['labels without a comma', 'foo{a="1" b="2"} 1\n', 1, /expected "," or "}" after the value of label "a"/],
      ['a missing "="', 'foo{a "1"} 1\n', 1, /expected "=" after label name "a"/],
      ['a sample without a value', 'foo{a="1"}\n', 1, /sample without a value/],
      ['a value that is not a float', 'foo 1,5\n', 1, /invalid value "1,5"/],
      ['a hex value', 'foo 0x10\n', 1, /invalid value "0x10"/],
      ['a value out of float64 range', 'foo 1e400\n', 1, /invalid value "1e400"/],
      ['a signed NaN', 'foo +NaN\n', 1, /invalid value "\+NaN"/],
      ['a timestamp that is not an integer', 'foo 1 1.5\n', 1, /invalid timestamp "1.5"/],
      ['a timestamp out of int64 range', 'foo 1 9223372036854775808\n', 1, /out of int64 range/],
      ['a token after the timestamp', 'foo 1 2 3\n', 1, /unexpected "3" after the timestamp/],
      ['a duplicate label name', 'foo{a="1",a="2"} 1\n', 1, /duplicate label name "a"/],
      ['the same series twice', 'foo{a="1",b="2"} 1\nfoo{b="2",a="1"} 2\n', 2, /series already given at line 1/],
      ['the same series twice, an empty label being no label', 'foo{a="1",b=""} 1\nfoo{a="1"} 2\n', 2, /series already given at line 1/],
      ['a second HELP line', '# HELP foo one\n# HELP foo two\nfoo 1\n', 2, /second HELP line for "foo" \(first at line 1\)/],
      ['a second TYPE line', '# TYPE foo gauge\n# TYPE foo gauge\n', 2, /second TYPE line for "foo" \(first at line 1\)/],
      ['an unknown type', '# TYPE foo Counter\n', 1, /unknown metric type "Counter"/],
      ['a TYPE line without a type', '# TYPE foo\n', 1, /exactly one type after the metric name, got 0/],
      ['a TYPE line with two types', '# TYPE foo counter gauge\n', 1, /exactly one type after the metric name, got 2/],
      ['a HELP line without a metric name', '# HELP\n', 1, /HELP line without a metric name/],
      ['a HELP line with an invalid metric name', '# HELP foo-bar text\n', 1, /invalid metric name in HELP line/],
      ['an unknown escape in HELP text', '# HELP foo tab\\there\n', 1, /invalid escape "\\t" in HELP text/],
      ['a TYPE line after its samples', 'foo 1\n# TYPE foo gauge\n', 2, /TYPE line for "foo" after its samples \(first at line 1\)/],
      ['a HELP line after its samples', '# TYPE foo gauge\nfoo 1\n# HELP foo late\n', 3, /HELP line for "foo" after its samples/],
      [
        'a histogram TYPE line after its buckets',
        'h_bucket{le="+Inf"} 1\n# TYPE h histogram\n',
        2,
        /TYPE line for "h" after its sample "h_bucket" \(line 1\)/,
      ],
      ['interleaved families', 'a 1\nb 1\na{x="1"} 2\n', 3, /family "a" \(from line 1\) continues after family "b"/],
      [
        'a histogram interrupted by another family',
        '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nother 1\nh_sum 1\nh_count 1\n',
        4,
        /family "h" \(from line 1\) continues after family "other"/,
      ],
      ['a negative counter', '# TYPE c counter\nc -1\n', 2, /counter "c" is negative/],
      ['a bucket without le', '# TYPE h histogram\nh_bucket{a="1"} 1\n', 2, /"h_bucket" needs a "le" label/],
      ['a bucket whose le is not a number', '# TYPE h histogram\nh_bucket{le="big"} 1\n', 2, /"le" label is not a number: "big"/],
      ['le on a histogram _sum', '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum{le="1"} 1\n', 3, /"h_sum" must not carry the "le" label/],
      ['a plain sample in a histogram', '# TYPE h histogram\nh 1\n', 2, /histogram "h" has no plain samples/],
      ['a negative bucket count', '# TYPE h histogram\nh_bucket{le="+Inf"} -1\n', 2, /bucket count of "h" must be a non-negative number/],
      [
        'buckets that are not cumulative',
        '# TYPE h histogram\nh_bucket{le="1"} 5\nh_bucket{le="2"} 4\nh_bucket{le="+Inf"} 5\nh_sum 1\nh_count 5\n',
        3,
        /le="2" of "h" counts 4, less than the 5 of le="1"/,
      ],
      [
        'buckets out of order',
        '# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
        3,
        /le="1" of "h" comes after le="2" \(line 2\)/,
      ],
      [
        'the same bound twice, spelt differently',
        '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="1.0"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
        3,
        /le="1.0" of "h" comes after le="1"/,
      ],
      [
        'a histogram series without a +Inf bucket',
        '# TYPE h histogram\nh_bucket{a="x",le="1"} 1\nh_sum{a="x"} 1\nh_count{a="x"} 1\n',
        4,
        /"h" series \{"a":"x"\} has no le="\+Inf" bucket/,
      ],
      [
        'a +Inf bucket that differs from _count',
        '# TYPE h histogram\nh_bucket{le="+Inf"} 3\nh_sum 1\nh_count 4\n',
        4,
        /h_count is 4 but its le="\+Inf" bucket is 3/,
      ],
      ['a histogram series without _count', '# TYPE h histogram\nh_bucket{le="+Inf"} 3\nh_sum 1\n', 3, /has no h_count/],
      ['a histogram series without _sum', '# TYPE h histogram\nh_bucket{le="+Inf"} 3\nh_count 3\n', 3, /has no h_sum/],
      [
        'one labelled series of a histogram incomplete',
        '# TYPE h histogram\nh_bucket{a="1",le="+Inf"} 1\nh_sum{a="1"} 1\nh_count{a="1"} 1\nh_bucket{a="2",le="+Inf"} 2\nh_sum{a="2"} 1\nh_count{a="2"} 1\n',
        7,
        /h_count is 1 but its le="\+Inf" bucket is 2/,
      ],
      ['a summary sample without quantile', '# TYPE s summary\ns 1\n', 2, /"s" needs a "quantile" label/],
      ['a quantile outside [0, 1]', '# TYPE s summary\ns{quantile="1.5"} 1\n', 2, /quantile 1.5 outside \[0, 1\]/],
      [
        'quantiles out of order',
        '# TYPE s summary\ns{quantile="0.9"} 1\ns{quantile="0.5"} 1\ns_sum 1\ns_count 1\n',
        3,
        /quantile="0.5" of "s" comes after quantile="0.9"/,
      ],
      ['a summary series without _sum', '# TYPE s summary\ns{quantile="0.5"} 1\ns_count 1\n', 3, /has no s_sum/],
      ['a carriage return line ending', 'ok 1\r\n', 1, /carriage return/],
      ['no line feed after the last line', 'ok 1\nfoo 1', 2, /the last line must end with a line feed/],
    ];

    it.each(cases)('%s', (_what, text, line, message) => {
      const err = rejection(text);
      expect(err.line).toBe(line);
      expect(err.text).toBe(text.split('\n')[line - 1]);
      expect(err.message).toMatch(new RegExp(`^line ${line}: `));
      expect(err.message).toMatch(message);
      expect(err.message).toContain(JSON.stringify(err.text));
    });
  });

  it('parses a prom-client registry: labelled counter, gauge, histogram and summary, and default metrics', async () => {
    const registry = new Registry();
    const registers = [registry];
    const counter = new Counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['queue', 'state'], registers });
    const gauge = new Gauge({ name: 'queue_depth', help: 'Depth.', labelNames: ['queue'], registers });
    const histogram = new Histogram({ name: 'job_seconds', help: 'Job time.', labelNames: ['queue', 'state'], buckets: [0.1, 1, 10], registers });
    const summary = new Summary({ name: 'payload_bytes', help: 'Payload size.', labelNames: ['queue'], percentiles: [0.5, 0.9], registers });
    collectDefaultMetrics({ register: registry });

    counter.inc({ queue: 'mail', state: 'done' }, 3);
    counter.inc({ queue: 'sms', state: 'failed' });
    gauge.set({ queue: 'mail' }, 12);
    gauge.set({ queue: 'sms' }, -1);
    for (const s of [0.05, 0.5, 5, 50]) histogram.observe({ queue: 'mail', state: 'done' }, s);
    histogram.observe({ queue: 'sms', state: 'failed' }, 0.5);
    for (const b of [100, 200, 300]) summary.observe({ queue: 'mail' }, b);

    const f = parsePrometheusText(await registry.metrics());
    expect(f.get('jobs_total')).toMatchObject({ type: 'counter', help: 'Jobs.' });
    expect(sample(f.get('jobs_total'), { queue: 'mail', state: 'done' })?.value).toBe(3);
    expect(sample(f.get('jobs_total'), { queue: 'sms', state: 'failed' })?.value).toBe(1);
    expect(sample(f.get('queue_depth'), { queue: 'sms' })?.value).toBe(-1);

    // prom-client writes `le` first, then the other labels: the case the npm parser got wrong.
    const h = f.get('job_seconds');
    expect(h?.type).toBe('histogram');
    expect(histogramSeries(h!)).toEqual([
      {
        labels: { queue: 'mail', state: 'done' },
        buckets: new Map([
          [0.1, 1],
          [1, 2],
          [10, 3],
          [Infinity, 4],
        ]),
        sum: 55.55,
        count: 4,
      },
      {
        labels: { queue: 'sms', state: 'failed' },
        buckets: new Map([
          [0.1, 0],
          [1, 1],
          [10, 1],
          [Infinity, 1],
        ]),
        sum: 0.5,
        count: 1,
      },
    ]);
    expect(sample(h, { queue: 'sms', state: 'failed', le: '1' }, 'job_seconds_bucket')?.value).toBe(1);
    expect(sample(h, { queue: 'sms', state: 'failed' }, 'job_seconds_count')?.value).toBe(1);

    const [s] = summarySeries(f.get('payload_bytes')!);
    expect(s).toEqual({ labels: { queue: 'mail' }, quantiles: new Map([[0.5, 200], [0.9, 300]]), sum: 600, count: 3 });

    expect(f.get('process_cpu_user_seconds_total')?.type).toBe('counter');
    expect(f.get('process_resident_memory_bytes')?.type).toBe('gauge');
    expect(f.get('nodejs_gc_duration_seconds')?.type).toBe('histogram');
    expect(sample(f.get('nodejs_eventloop_lag_p99_seconds'))?.value).toBeGreaterThanOrEqual(0);
    expect(f.get('nodejs_version_info')?.samples[0]?.labels['version']).toBe(process.version);
  });

  it('helpers: histogramSeries and summarySeries refuse other types; sample() tolerates a missing family', () => {
    const f = family('# TYPE g gauge\ng 1\n', 'g');
    expect(() => histogramSeries(f)).toThrow(TypeError);
    expect(() => summarySeries(f)).toThrow(TypeError);
    expect(sample(undefined, {})).toBeUndefined();
    expect(sample(f, { x: '1' })).toBeUndefined();
  });
});
