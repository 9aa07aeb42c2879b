// Checks (default) or updates (`--update`) the API report of every package entry point: each
// `packages/<pkg>/api-extractor*.json` names a built `.d.ts`; API Extractor writes its report into the
// package's `dist/api-report/`, and this script compares it with the one checked in as
// `packages/<pkg>/api/<name>.api.md`. Run after `npm run build`. A check fails, printing the difference,
// when the built surface differs from the checked-in report (or there is none); `npm run api:update`
// writes the new reports for review and commit.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/**
 * The report without what changes from build to build while the surface does not: the content hash
 * in the names of tsup's shared declaration chunks and the line and column of a warning's source.
 */
function normalise(report) {
  return report.replace(/\b(dist\/[\w.-]+?)-[\w-]{8}\.d\.ts\b/g, '$1.d.ts').replace(/(\.d\.c?ts):\d+:\d+/g, '$1');
}

// the project's TypeScript supplies the standard library declarations (API Extractor analyses with its own)
const typescriptCompilerFolder = path.join(root, 'node_modules', 'typescript');

// One TypeScript program for every entry point (they share one compiler configuration).
const [first, ...rest] = configs;
const compilerState = CompilerState.create(first, {
  typescriptCompilerFolder,
  additionalEntryPoints: rest.map((c) => c.mainEntryPointFilePath),
});

const QUIET = new Set(['console-preamble', 'console-compiler-version-notice', 'console-api-report-created']);
const failed = [];
for (const config of configs) {
  mkdirSync(config.reportFolder, { recursive: true });
  const result = Extractor.invoke(config, {
    localBuild: true,
    compilerState,
    typescriptCompilerFolder,
    messageCallback: (message) => {
      // the compiler-version preamble and "report written" notices are noise in a run of seven entry points
      if (QUIET.has(message.messageId) || message.messageId.startsWith('console-api-report-')) message.handled = true;
    },
  });
  const checkedIn = path.join(config.projectFolder, 'api', path.basename(config.reportFilePath));
  const name = path.relative(root, checkedIn);
  if (!result.succeeded) {
    failed.push(`${name}: API Extractor reported ${result.errorCount} error(s)`);
    continue;
  }
  const built = normalise(readFileSync(config.reportFilePath, 'utf8'));
  const current = existsSync(checkedIn) ? readFileSync(checkedIn, 'utf8') : undefined;
  if (built === current) {
    console.log(`unchanged  ${name}`);
  } else if (update) {
    mkdirSync(path.dirname(checkedIn), { recursive: true });
    writeFileSync(checkedIn, built);
    console.log(`updated    ${name}`);
  } else {
    failed.push(
      `${name}: ${current === undefined ? 'no report is checked in' : 'the public API differs from this report'}`,
    );
    if (current !== undefined) {
      // the difference itself, so a CI log shows what changed
      const builtFile = config.reportFilePath.replace(/\.api\.md$/, '.normalised.api.md');
      writeFileSync(builtFile, built);
      const diff = spawnSync('diff', ['-u', checkedIn, builtFile], { encoding: 'utf8' });
      console.error(diff.stdout || diff.error?.message || '');
    }
  }
}

if (failed.length > 0) {
  console.error(`\nAPI report check failed:\n  ${failed.join('\n  ')}`);
  console.error('\nIf the change is deliberate, run `npm run api:update` and commit the reports.');
  process.exit(1);
}
