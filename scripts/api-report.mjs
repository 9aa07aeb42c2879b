// Checks (default) or updates (`--update`) the API report of every package entry point: each
// `packages/<pkg>/api-extractor*.json` names a built `.d.ts` and its report `packages/<pkg>/api/*.api.md`.
// Run after `npm run build`. A check fails when the built surface differs from the checked-in report
// (or when there is none); `npm run api:update` writes the new report for review and commit.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import apiExtractor from '@microsoft/api-extractor';

const { CompilerState, Extractor, ExtractorConfig } = apiExtractor;
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const update = process.argv.includes('--update');

const configs = readdirSync(path.join(root, 'packages'))
  .sort()
  .flatMap((pkg) =>
    readdirSync(path.join(root, 'packages', pkg))
      .filter((f) => /^api-extractor(\..+)?\.json$/.test(f))
      .sort()
      .map((f) => ExtractorConfig.loadFileAndPrepare(path.join(root, 'packages', pkg, f))),
  );

if (update) for (const c of configs) mkdirSync(c.reportFolder, { recursive: true });

// the project's TypeScript supplies the standard library declarations (API Extractor analyses with its own)
const typescriptCompilerFolder = path.join(root, 'node_modules', 'typescript');

// One TypeScript program for every entry point (they share one compiler configuration).
const [first, ...rest] = configs;
const compilerState = CompilerState.create(first, {
  typescriptCompilerFolder,
  additionalEntryPoints: rest.map((c) => c.mainEntryPointFilePath),
});

const QUIET = new Set(['console-preamble', 'console-compiler-version-notice']);
const failed = [];
for (const config of configs) {
  const name = path.relative(root, config.reportFilePath);
  const result = Extractor.invoke(config, {
    localBuild: update,
    compilerState,
    typescriptCompilerFolder,
    messageCallback: (message) => {
      // the compiler-version preamble is noise in a run of seven entry points
      if (QUIET.has(message.messageId)) message.handled = true;
    },
  });
  if (result.apiReportChanged && !update) {
    failed.push(`${name}: the public API differs from this report`);
    // the difference itself, so a CI log shows what changed
    const diff = spawnSync('diff', ['-u', config.reportFilePath, config.reportTempFilePath], { encoding: 'utf8' });
    console.error(diff.stdout || diff.error?.message || '');
  } else if (!result.succeeded) failed.push(`${name}: ${result.errorCount} error(s)`);
  else console.log(`${update && result.apiReportChanged ? 'updated' : 'unchanged'}  ${name}`);
}

if (failed.length > 0) {
  console.error(`\nAPI report check failed:\n  ${failed.join('\n  ')}`);
  console.error(
    "\nReview the difference (the new report is in the package's dist/api-report/) and run `npm run api:update` to accept it.",
  );
  process.exit(1);
}
