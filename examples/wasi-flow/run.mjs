// Runs the canned flow compiled for wasm32-wasip1 under Node's WASI (node:wasi, preview1) and
// checks what it printed: the core needs no runtime, no I/O and no clock of its own.
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import { argv, exit } from 'node:process';
import { openSync, readFileSync, closeSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const wasmPath = argv[2];
const outPath = join(mkdtempSync(join(tmpdir(), 'xaa-wasi-')), 'stdout');
const out = openSync(outPath, 'w');
const wasi = new WASI({ version: 'preview1', args: ['xaa-wasi-flow'], env: {}, stdout: out, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(wasmPath));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
const code = wasi.start(instance);
closeSync(out);
const printed = readFileSync(outPath, 'utf8');
process.stdout.write(printed);
const expected = 'flow done: a token for https://mcp.example.com/mcp from https://as.example.com, valid 3600 s, after 5 requests\n';
if (code !== 0 || printed !== expected) {
  console.error(`unexpected result: exit ${code}, output ${JSON.stringify(printed)}`);
  exit(1);
}
