// Build the front end with esbuild into the Python package: the one generated copy of each
// output (minified, with a banner naming its source and the licence of bundled code).
//
//   node build.mjs              write the outputs into kernel/nbtrack/…/static/
//   node build.mjs --out DIR    write them below DIR instead (same relative layout)
//   node build.mjs --check      build in memory; exit 1 when a committed output differs
//   (npm run build [-- --check] runs the same)

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import * as esbuild from 'esbuild';

const JS = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(JS, '..');
const uplot = JSON.parse(readFileSync(join(JS, 'node_modules/uplot/package.json'), 'utf8'));
const UPLOT_LICENSE = readFileSync(join(JS, 'node_modules/uplot/LICENSE'));
const COPYRIGHT = /^Copyright.*$/m.exec(UPLOT_LICENSE.toString('utf8'))[0].trim();
const LICENSE_OUT = 'kernel/nbtrack/pages/static/uPlot.LICENSE';

// [entry under js/src, output under the repository, format of a JS output]
const OUTPUTS = [
  ['widget/index.js', 'kernel/nbtrack/notebook/static/widget.js', 'esm'],
  ['widget/widget.css', 'kernel/nbtrack/notebook/static/widget.css'],
  ['pages/index.js', 'kernel/nbtrack/pages/static/pages.js', 'iife'],
  ['pages/pages.css', 'kernel/nbtrack/pages/static/pages.css'],
];

function banner(entry) {
  return `/* nbtrack — GENERATED from js/src/${entry} by js/build.mjs (npm run build); do not edit.\n`
    + ` * Bundles uPlot ${uplot.version} (${uplot.homepage.replace(/#.*$/, '')}), ${COPYRIGHT},`
    + ` ${uplot.license} License: nbtrack/pages/static/uPlot.LICENSE. */`;
}

/** {path relative to the repository: bytes} of every output. */
async function render() {
  const files = {};
  for (const [entry, out, format] of OUTPUTS) {
    const css = entry.endsWith('.css');
    const result = await esbuild.build({
      entryPoints: [join(JS, 'src', entry)],
      bundle: true,
      minify: true,
      write: false,
      legalComments: 'none',
      charset: 'utf8',
      target: css ? ['chrome100', 'firefox100', 'safari15'] : 'es2020',
      ...(css ? {} : { format, platform: 'browser' }),
      banner: { [css ? 'css' : 'js']: banner(entry) },
      outfile: join(REPO, out),
      logLevel: 'silent',
    });
    if (result.outputFiles.length !== 1) throw new Error(`${entry}: expected one output file`);
    files[out] = Buffer.from(result.outputFiles[0].contents);
  }
  files[LICENSE_OUT] = UPLOT_LICENSE;
  return files;
}

function read(path) {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}

async function main(argv) {
  const check = argv.includes('--check');
  const at = argv.indexOf('--out');
  const base = at >= 0 ? resolve(argv[at + 1]) : REPO;
  const files = await render();
  if (check) {
    const stale = Object.keys(files).filter((p) => {
      const have = read(join(base, p));
      return have === null || !have.equals(files[p]);
    });
    if (stale.length) {
      console.error(`stale: ${stale.join(', ')} — run npm run build in js/ and commit`);
      return 1;
    }
    console.log(`${Object.keys(files).length} generated files are up to date`);
    return 0;
  }
  for (const [p, data] of Object.entries(files)) {
    const dest = join(base, p);
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, data);
    console.log(`wrote ${relative(process.cwd(), dest)} (${data.length} bytes)`);
  }
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  console.error(`build: ${err.message || err}`);
  process.exitCode = 2;
});
