/**
 * What the lint cannot see (eslint.config.mjs holds what each folder may
 * import): importing the library loads none of the command's or the docs'
 * dependencies, and the public declarations need no optional package.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import ts from 'typescript';

const ROOT = path.resolve(__dirname, '../..');

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
  const program = ts.createProgram(config.fileNames, {
    ...config.options,
    emitDeclarationOnly: true,
    declaration: true,
    sourceMap: false,
    declarationMap: false,
  });
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
