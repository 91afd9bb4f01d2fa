/**
 * The option table as documents: the README's table of `baton run` options
 * and the config file's JSON Schema, both made from src/cli/options.ts, so
 * neither can drift from what the command line takes (a unit test compares
 * the README; `npm run build` writes the schema into dist/).
 */
import { formatDuration } from '../protocol/settings.js';
import { type OptionDef, RUN_OPTIONS, SOURCE_OPTIONS } from './options.js';
import { optionHead, optionText } from './args.js';

/** The README's table: one row per option, its config key and its standalone variable. */
export function optionsTable(): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const rows = RUN_OPTIONS.map(
    (d) => `| \`${cell(optionHead(d))}\` | \`${d.key}\` | ${d.env ? `\`${d.env}\`` : ''} | ${cell(optionText(d))} |`,
  );
  const sources = Object.values(SOURCE_OPTIONS).map((d) => `| \`${optionHead(d)}\` | | | ${cell(d.help)} |`);
  return [
    '| option | config key | standalone variable | what it does |',
    '| --- | --- | --- | --- |',
    ...rows,
    ...sources,
  ].join('\n');
}

type Schema = Record<string, unknown>;

/**
 * What a key's value may be in the file: as its flag's text (a string, or a number for counts and durations), a list,
 * or a switch.
 */
function valueSchema(d: OptionDef): Schema {
  const description = optionText(d);
  if (d.sets !== undefined) return { type: 'boolean', description, default: d.default };
  const one: Schema = d.numeric ? { type: ['string', 'number'] } : { type: 'string' };
  if (d.list) return { description, anyOf: [one, { type: 'array', items: one }] };
  const value = d.arg === 'DUR' ? formatDuration(d.default as number) : d.default;
  return {
    ...one,
    description,
    ...(value === undefined ? {} : { default: value }),
    examples: [d.example?.replace(/^"|"$/g, '')],
  };
}

/** The JSON Schema of baton.config.json: editors complete and check the file with it. */
export function configSchema(): Schema {
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'baton run configuration',
    description:
      'Every `baton run` option by its key; flags given on the command line win over the file. See `baton help run`.',
    type: 'object',
    additionalProperties: false,
    properties: {
      $schema: { type: 'string' },
      script: { type: 'string', description: "the app's entry file, relative to this file" },
      args: { type: 'array', items: { type: 'string' }, description: "the app's own arguments" },
      ...Object.fromEntries(RUN_OPTIONS.map((d) => [d.key, valueSchema(d)])),
    },
  };
}
