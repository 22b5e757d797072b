import { dotToSvg } from '../../src/cli/svg';
import { buildPlan, type DepsMap, type RunResult } from '../../src/dag';
import { renderDag, toDot, toMermaid } from '../../src/dag/render';
import { DagCycleError } from '../../src/errors';

const diamond: DepsMap = {
  a: { topic: 'math.add', args: [1] },
  b: { topic: 'math.sub', args: [], deps: ['a'] },
  c: { topic: 'math.mul', args: [], deps: ['a'] },
  d: { topic: 'math.add', args: [], deps: ['b', 'c'] },
};

const run: RunResult = {
  results: { a: 1, b: 2 },
  outcomes: {
    a: { id: 'a', topic: 'math.add', status: 'done', startedAt: 1000, finishedAt: 1012 },
    b: { id: 'b', topic: 'math.sub', status: 'done', startedAt: 1012, finishedAt: 1040 },
    c: { id: 'c', topic: 'math.mul', status: 'failed', startedAt: 1012, finishedAt: 1030, error: new Error('x') },
    d: { id: 'd', topic: 'math.add', status: 'skipped' },
  },
  startedAt: 1000,
  finishedAt: 1040,
};

/** Graphviz itself (compiled to WebAssembly, a dependency: nothing to install) must accept what we emit; it throws on a syntax error. */
const graphvizAccepts = dotToSvg;

describe('DAG pictures', () => {
  test('a deps map as Mermaid: one node per call with name and topic, one edge per dependency', () => {
    expect(toMermaid(diamond)).toBe(
      [
        'flowchart LR',
        '  n0["a<br/>math.add"]',
        '  n1["b<br/>math.sub"]',
        '  n2["c<br/>math.mul"]',
        '  n3["d<br/>math.add"]',
        '  n0 --> n1',
        '  n0 --> n2',
        '  n1 --> n3',
        '  n2 --> n3',
        '',
      ].join('\n'),
    );
  });

  test('a finished run as Mermaid: status and duration in each label, coloured by status', () => {
    const text = toMermaid(diamond, run);
    expect(text).toContain('n0["a<br/>math.add<br/>done 12 ms"]');
    expect(text).toContain('n2["c<br/>math.mul<br/>failed 18 ms"]');
    expect(text).toContain('n3["d<br/>math.add<br/>skipped"]');
    expect(text).toMatch(/classDef failed fill:#ffd6d6/);
    expect(text.split('\n').filter((l) => l.startsWith('  class '))).toEqual(['  class n0 done', '  class n1 done', '  class n2 failed', '  class n3 skipped']);
  });

  test('DOT of a deps map and of a run: the shape we mean, and Graphviz renders both', async () => {
    const plain = toDot(diamond);
    expect(plain).toContain('digraph dag {');
    expect(plain).toContain('  "a" [label="a\\nmath.add"];');
    expect(plain.match(/->/g)).toHaveLength(4);
    expect(plain).toContain('  "b" -> "d";');
    const ran = toDot(buildPlan(diamond), run);
    expect(ran).toContain('"c" [label="c\\nmath.mul\\nfailed 18 ms", style=filled, fillcolor="#ffd6d6"');
    for (const dot of [plain, ran]) expect(await graphvizAccepts(dot)).toContain('<svg');
    await expect(graphvizAccepts('digraph { "a" -> ')).rejects.toThrow(/syntax error/); // it can fail
    expect(renderDag(diamond, 'dot')).toBe(plain);
    expect(renderDag(diamond)).toBe(toMermaid(diamond));
  });

  test('node names are labels, never syntax: quotes, backslashes, brackets and line breaks are escaped', async () => {
    const odd: DepsMap = {
      'say "hi"': { topic: 't.one', args: [] },
      'back\\slash [x] <b>&#': { topic: 't.two', args: [], deps: ['say "hi"'] },
      'two\nlines': { topic: 't.three', args: [], deps: ['back\\slash [x] <b>&#'] },
    };
    const svg = await graphvizAccepts(toDot(odd));
    expect(svg).toContain('say &quot;hi&quot;');
    expect(svg).toContain('back\\slash [x] &lt;b&gt;&amp;#');
    const mermaid = toMermaid(odd);
    expect(mermaid).toContain('n0["say #34;hi#34;<br/>t.one"]');
    expect(mermaid).toContain('n1["back\\slash [x] #60;b#62;#38;#35;<br/>t.two"]');
    expect(mermaid).toContain('n2["two lines<br/>t.three"]');
  });

  test('an invalid deps map is refused with its usual typed error', () => {
    expect(() => toMermaid({ a: { topic: 't', args: [], deps: ['b'] }, b: { topic: 't', args: [], deps: ['a'] } })).toThrow(DagCycleError);
  });
});
