#!/usr/bin/env node
// Validates GLB/glTF files with the Khronos glTF Validator (npm
// gltf-validator). Usage: node validate_gltf.mjs PATH... (files or
// directories; directories are searched for *.glb / *.gltf, not recursively).
// Prints "PATH errors=N warnings=M" per file and the first few errors;
// exits 1 when any file has errors or cannot be read, 2 on bad usage.
import { createRequire } from 'node:module';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

// Resolve gltf-validator next to this script, whatever the cwd.
const require = createRequire(import.meta.url);
const validator = require('gltf-validator');

const MAX_SHOWN = 5;

function collect(args) {
  const files = [];
  for (const arg of args) {
    const st = statSync(arg, { throwIfNoEntry: false });
    if (st && st.isDirectory()) {
      for (const name of readdirSync(arg).sort()) {
        if (/\.(glb|gltf)$/i.test(name)) files.push(join(arg, name));
      }
    } else {
      files.push(arg); // missing files are reported by validateFile
    }
  }
  return files;
}

async function validateFile(path) {
  let bytes;
  try {
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    console.log(`${path} errors=1 warnings=0`);
    console.log(`  cannot read: ${e.message}`);
    return false;
  }
  const report = await validator.validateBytes(bytes, {
    uri: path,
    maxIssues: 100,
    // Our GLBs are self-contained: any external reference is a bug.
    externalResourceFunction: (uri) => Promise.reject(new Error(`external resource ${uri}`)),
  });
  const { numErrors, numWarnings, messages } = report.issues;
  console.log(`${path} errors=${numErrors} warnings=${numWarnings}`);
  const shown = messages.filter((m) => m.severity === 0).slice(0, MAX_SHOWN);
  for (const m of shown) {
    console.log(`  error ${m.code}: ${m.message}${m.pointer ? ` (${m.pointer})` : ''}`);
  }
  if (numWarnings > 0) {
    for (const m of messages.filter((x) => x.severity === 1).slice(0, MAX_SHOWN)) {
      console.log(`  warning ${m.code}: ${m.message}${m.pointer ? ` (${m.pointer})` : ''}`);
    }
  }
  return numErrors === 0;
}

const args = process.argv.slice(2);
if (args.length === 0) {
  console.error('usage: node validate_gltf.mjs FILE.glb|DIR...');
  process.exit(2);
}
const files = collect(args);
if (files.length === 0) {
  console.error('validate_gltf: no .glb/.gltf files found');
  process.exit(1);
}
let ok = true;
for (const f of files) {
  try {
    if (!(await validateFile(f))) ok = false;
  } catch (e) {
    console.log(`${f} errors=1 warnings=0`);
    console.log(`  validator failed: ${e && e.message ? e.message : e}`);
    ok = false;
  }
}
process.exit(ok ? 0 : 1);
