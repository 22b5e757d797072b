/**
 * The layout's rules, checked: what each folder may import, that importing
 * the library loads none of the command's or the docs' dependencies, and
 * that the public declarations need no optional package.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');
const SRC = path.join(ROOT, 'src');

function sources(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

/** Every module a file imports or requires, with whether the import is for types only. */
function importsOf(file: string): { spec: string; typeOnly: boolean }[] {
  const text = fs.readFileSync(file, 'utf8');
  const found: { spec: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+'([^']+)'/gm)) found.push({ spec: m[3]!, typeOnly: m[2] !== undefined });
  for (const m of text.matchAll(/^\s*import\s+'([^']+)'/gm)) found.push({ spec: m[1]!, typeOnly: false });
  for (const m of text.matchAll(/require\('([^']+)'\)/g)) found.push({ spec: m[1]!, typeOnly: false });
  return found;
}

const rel = (file: string) => path.relative(SRC, file).split(path.sep).join('/');
const files = sources(SRC);

test.each<[string, (file: string) => boolean, (spec: string, typeOnly: boolean, file: string) => boolean]>([
  // protocol/codec is pure too: the Codec type and the check of a node's codec and wire format.
  ['src/dag is pure: only itself, errors, protocol/codec and graphlib', (f) => rel(f).startsWith('dag/'), (s) => s.startsWith('./') || s === '../errors' || s === '../protocol/codec' || s === '@dagrejs/graphlib'],
  ['src/protocol/codec imports only errors and protocol/bytes', (f) => rel(f) === 'protocol/codec.ts', (s) => s === '../errors' || s === './bytes'],
  ['src/protocol/bytes imports only errors and node:buffer', (f) => rel(f) === 'protocol/bytes.ts', (s) => s === '../errors' || s === 'node:buffer'],
  ['only src/kafka imports kafkajs', (f) => !rel(f).startsWith('kafka/'), (s) => s !== 'kafkajs'],
  ['only src/cli imports commander', (f) => !rel(f).startsWith('cli/'), (s) => s !== 'commander'],
  ['only src/telemetry imports OpenTelemetry', (f) => !rel(f).startsWith('telemetry/'), (s) => !s.startsWith('@opentelemetry/')],
  ['src/protocol imports no transport', (f) => rel(f).startsWith('protocol/'), (s) => !s.includes('/kafka/') && s !== 'kafkajs'],
])('%s', (_rule, applies, allowed) => {
  const broken = files.filter(applies).flatMap((f) => importsOf(f).filter((i) => !allowed(i.spec, i.typeOnly, f)).map((i) => `${rel(f)} imports ${i.spec}`));
  expect(broken).toEqual([]);
});

test('the checks above see the imports they check', () => {
  expect(importsOf(path.join(SRC, 'kafka/client.ts')).map((i) => i.spec)).toContain('kafkajs');
  expect(importsOf(path.join(SRC, 'telemetry/otel.ts'))).toEqual(expect.arrayContaining([{ spec: '@opentelemetry/api', typeOnly: true }, { spec: '@opentelemetry/api', typeOnly: false }]));
});

test('importing the library loads neither the command nor the docs dependencies, nor OpenTelemetry before it is used', () => {
  const script = "require('./src/index.ts'); process.stdout.write(JSON.stringify(Object.keys(require.cache)))";
  const loaded = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: ROOT, encoding: 'utf8' })) as string[];
  expect(loaded.some((f) => f.includes(`${path.sep}kafkajs${path.sep}`))).toBe(true); // what a user does load
  const heavy = loaded.filter((f) => /node_modules[\\/](commander|typedoc|typedoc-plugin-markdown|@nestjs|@opentelemetry|tsx[\\/]dist[\\/]cli)[\\/]/.test(f));
  expect(heavy).toEqual([]);
});

test('the public declarations name no optional or command-line package', () => {
  const config = ts.parseJsonConfigFileContent(ts.readConfigFile(path.join(ROOT, 'tsconfig.build.json'), ts.sys.readFile).config, ts.sys, ROOT);
  const emitted = new Map<string, string>();
  const program = ts.createProgram(config.fileNames, { ...config.options, emitDeclarationOnly: true, declaration: true, sourceMap: false, declarationMap: false });
  program.emit(undefined, (name, text) => emitted.set(path.resolve(name), text));
  const outDir = path.resolve(config.options.outDir!);
  const reached = new Set<string>();
  const walk = (file: string) => {
    if (reached.has(file) || !emitted.has(file)) return;
    reached.add(file);
    for (const m of emitted.get(file)!.matchAll(/(?:from|import\()\s*['"](\.[^'"]+)['"]/g)) {
      const target = path.resolve(path.dirname(file), m[1]!);
      walk(emitted.has(`${target}.d.ts`) ? `${target}.d.ts` : path.join(target, 'index.d.ts'));
    }
  };
  walk(path.join(outDir, 'index.d.ts'));
  expect(reached.size).toBeGreaterThan(10);
  const naming = [...reached].filter((f) => /['"](@opentelemetry\/|commander['"])/.test(emitted.get(f)!)).map((f) => path.relative(outDir, f));
  expect(naming).toEqual([]);
});
