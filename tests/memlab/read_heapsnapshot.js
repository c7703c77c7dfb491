// Reads a `heapsnap export --format chrome` file with MemLab's heap
// analysis (@memlab/heap-analysis: MemLab's own parser, its dominator tree
// and retained sizes) and writes what it found into the folder OUT:
//   OUT/summary.json  {"nodes": N, "edges": M, "root": {...}, "top":
//                     [{id, name, type, self, retained}, ...]} with the
//                     TOP_N (default 10) nodes retaining the most
//   OUT/nodes.tsv     one line per node but the root: "id<TAB>retained
//                     size<TAB>dominator id<TAB>type<TAB>name"
// (MemLab prints its progress on stdout, so the results go to files.)
// Usage: node read_heapsnapshot.js FILE.heapsnapshot OUT [TOP_N]
'use strict';
const fs = require('fs');
const { getFullHeapFromFile } = require('@memlab/heap-analysis');

async function main() {
  const [file, out, topArg] = process.argv.slice(2);
  if (!file || !out) {
    console.error('usage: node read_heapsnapshot.js FILE OUT [TOP_N]');
    process.exit(2);
  }
  const topN = Number(topArg || 10);
  const heap = await getFullHeapFromFile(file);
  let nodes = 0;
  let edges = 0;
  let root = null;
  const all = [];
  const lines = [];
  heap.nodes.forEach(node => {
    nodes++;
    edges += node.edge_count;
    if (node.nodeIndex === 0) {
      root = { id: node.id, type: node.type, name: node.name,
               edges: node.edge_count, retained: node.retainedSize };
      return;
    }
    all.push({ id: node.id, name: node.name, type: node.type,
               self: node.self_size, retained: node.retainedSize });
    const dom = node.dominatorNode;
    const name = node.name.replace(/[\t\n]/g, ' ');
    lines.push(`${node.id}\t${node.retainedSize}\t${dom ? dom.id : ''}\t` +
               `${node.type}\t${name}`);
  });
  all.sort((a, b) => b.retained - a.retained || a.id - b.id);
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(`${out}/nodes.tsv`, lines.join('\n') + '\n');
  fs.writeFileSync(`${out}/summary.json`, JSON.stringify({
    nodes, edges, root, top: all.slice(0, topN),
  }) + '\n');
}

main().catch(err => {
  console.error(`read_heapsnapshot: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
