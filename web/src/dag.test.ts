import { describe, expect, it } from 'vitest';
import { layoutDag } from './dag.js';

describe('layoutDag', () => {
  it('puts each step one column after the latest of its needs, rows in definition order', () => {
    const l = layoutDag([
      { id: 'prepare' },
      { id: 'double', needs: ['prepare'] },
      { id: 'square', needs: ['prepare'] },
      { id: 'report', needs: ['double', 'square'] },
    ]);
    expect(l.nodes).toEqual([
      { id: 'prepare', column: 0, row: 0 },
      { id: 'double', column: 1, row: 0 },
      { id: 'square', column: 1, row: 1 },
      { id: 'report', column: 2, row: 0 },
    ]);
    expect(l.edges).toEqual([
      { from: 'prepare', to: 'double' },
      { from: 'prepare', to: 'square' },
      { from: 'double', to: 'report' },
      { from: 'square', to: 'report' },
    ]);
    expect([l.columns, l.rows]).toEqual([3, 2]);
  });

  it('uses the longest chain, so an edge never goes backwards', () => {
    const l = layoutDag([{ id: 'a' }, { id: 'b', needs: ['a'] }, { id: 'c', needs: ['b'] }, { id: 'd', needs: ['a', 'c'] }]);
    expect(l.nodes.find((n) => n.id === 'd')!.column).toBe(3);
  });

  it('survives what the API refuses: unknown needs and cycles', () => {
    const l = layoutDag([
      { id: 'a', needs: ['ghost'] },
      { id: 'b', needs: ['c'] },
      { id: 'c', needs: ['b'] },
    ]);
    expect(l.nodes.map((n) => n.id)).toEqual(['a', 'b', 'c']);
    expect(l.edges).toEqual([
      { from: 'c', to: 'b' },
      { from: 'b', to: 'c' },
    ]);
    expect(layoutDag([])).toEqual({ nodes: [], edges: [], columns: 0, rows: 0 });
  });
});
