#!/usr/bin/env node
// Validates an OpenAPI document with @apidevtools/swagger-parser (the
// OpenAPI 3.0 JSON schema plus its semantic checks: $refs resolve, path
// parameters are declared, operationIds unique). Optional checks after the
// file: --param NAME (a generation parameter that must be described),
// --error CODE (an error code the Error schema must list), --path PATH (a
// route that must be there). Usage:
//   node validate_openapi.mjs FILE [--param N]... [--error C]... [--path P]...
// Exits 0 when valid, 1 when not, 2 on bad usage.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const SwaggerParser = require('@apidevtools/swagger-parser');

const args = process.argv.slice(2);
if (args.length < 1) {
  console.error('usage: validate_openapi.mjs FILE [--param N] [--error C] [--path P]');
  process.exit(2);
}
const file = args[0];
const want = { '--param': [], '--error': [], '--path': [] };
for (let i = 1; i < args.length; i += 2) {
  if (!(args[i] in want) || i + 1 >= args.length) {
    console.error(`validate_openapi: bad argument ${args[i]}`);
    process.exit(2);
  }
  want[args[i]].push(args[i + 1]);
}

let api;
try {
  // validate() dereferences; keep the raw document for the checks below.
  api = await SwaggerParser.parse(file);
  await SwaggerParser.validate(structuredClone(api));
} catch (err) {
  console.error(`ORACLE FAIL: ${file}: ${err.message}`);
  process.exit(1);
}

const problems = [];
const params = api.components?.schemas?.GenerationParameters?.properties ?? {};
for (const name of want['--param']) {
  if (!(name in params)) problems.push(`generation parameter ${name} not described`);
  if (!api.components?.parameters?.[name]) problems.push(`query parameter ${name} missing`);
}
const codes = api.components?.schemas?.Error?.properties?.error?.properties?.code?.enum ?? [];
for (const code of want['--error']) {
  if (!codes.includes(code)) problems.push(`error code ${code} not in the Error schema`);
}
for (const path of want['--path']) {
  if (!api.paths?.[path]) problems.push(`path ${path} missing`);
}
if (problems.length) {
  for (const p of problems) console.error(`ORACLE FAIL: ${p}`);
  process.exit(1);
}
const ops = Object.values(api.paths).reduce((n, item) =>
  n + Object.keys(item).filter((k) => k !== 'parameters').length, 0);
console.log(`${file}: valid OpenAPI ${api.openapi}, ${Object.keys(api.paths).length} paths, ` +
            `${ops} operations, ${Object.keys(params).length} parameters, ${codes.length} error codes`);
