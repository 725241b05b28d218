import parsePrometheusTextFormat from 'parse-prometheus-text-format';

/** A sample as a Prometheus parser reads it back. */
export interface ReadSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ReadFamily {
  name: string;
  help: string;
  type: string;
  samples: ReadSample[];
}

// A sample line as the format's grammar has it (the parser lets an unterminated label value pass).
const LABEL = String.raw`[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"`;
const VALUE = String.raw`(?:[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|NaN|[-+]Inf)`;
const SAMPLE = new RegExp(`^[a-zA-Z_:][a-zA-Z0-9_:]*(?:\\{(?:${LABEL}(?:,${LABEL})*,?)?\\})? ${VALUE}$`);

const number = (v: string) => (v === '+Inf' ? Infinity : v === '-Inf' ? -Infinity : Number(v));

/**
 * Text exposition read with parse-prometheus-text-format (a port of the Prometheus Python
 * client's parser, from the npm registry), plus what that parser lets pass and Prometheus'
 * own does not: metric and label names, a family's samples all together and after its HELP
 * and TYPE, one sample per label set, no timestamps, a final line feed. Throws on any of it.
 */
export function readExposition(text: string): ReadFamily[] {
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a line feed');
  const parsed = parsePrometheusTextFormat(text);
  const names = parsed.map((f) => f.name);
  const twice = names.filter((n, i) => names.indexOf(n) !== i);
  if (twice.length) throw new Error(`families split or repeated: ${twice.join(', ')}`);
  let sampleLines = 0;
  let current = '';
  for (const line of text.split('\n').filter(Boolean)) {
    const meta = /^# (HELP|TYPE) ([^ ]+) /.exec(line);
    if (meta) {
      if (meta[1] === 'HELP') current = meta[2]!;
      else if (meta[2] !== current) throw new Error(`TYPE without its HELP first: ${line}`);
      continue;
    }
    if (line.startsWith('#')) continue;
    sampleLines++;
    if (!SAMPLE.test(line)) throw new Error(`not a sample line: ${line}`);
    const name = /^[^{ ]+/.exec(line)![0];
    if (name !== current) throw new Error(`a sample outside its family (after ${current}): ${line}`);
  }
  const families = parsed.map((f) => {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(f.name)) throw new Error(`bad metric name ${f.name}`);
    return {
      name: f.name,
      help: f.help,
      type: f.type.toLowerCase(),
      samples: f.metrics.map((m) => {
        if (m.timestamp_ms !== undefined) throw new Error(`a timestamp on ${f.name}`);
        for (const k of Object.keys(m.labels ?? {}))
          if (!/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(k)) throw new Error(`bad label name ${k} on ${f.name}`);
        return { name: f.name, labels: m.labels ?? {}, value: number(m.value!) };
      }),
    };
  });
  // The parser merges a sample into the one before when their labels are equal: count them.
  const read = families.reduce((n, f) => n + f.samples.length, 0);
  if (read !== sampleLines)
    throw new Error(`${sampleLines} sample lines, ${read} samples: a label set twice`);
  return families;
}

/** Every sample, flat. */
export const samplesIn = (text: string): ReadSample[] => readExposition(text).flatMap((f) => f.samples);

/** The value of the one sample of `name` whose labels include `labels` (throws unless exactly one). */
export function valueOf(samples: ReadSample[], name: string, labels: Record<string, string> = {}): number {
  const hits = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (hits.length !== 1) throw new Error(`${hits.length} samples of ${name} ${JSON.stringify(labels)}`);
  return hits[0]!.value;
}
