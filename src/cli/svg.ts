/**
 * SVG from Graphviz DOT with no Graphviz installed: Graphviz compiled to
 * WebAssembly (@viz-js/viz), loaded only when a picture is asked for.
 */
export async function dotToSvg(dot: string): Promise<string> {
  const { instance } = await import('@viz-js/viz');
  const viz = await instance();
  return viz.renderString(dot, { format: 'svg' });
}
