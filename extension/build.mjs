// Build the extension: `npm run build` writes dist/chromium and dist/firefox (unpacked, ready
// for "Load unpacked" or "Load Temporary Add-on") and a zip of each. Scripts are bundled with
// esbuild (Readability included), so the extension loads nothing at run time.

import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";

import { build } from "esbuild";
import { zipSync } from "fflate";

const ROOT = new URL(".", import.meta.url).pathname;
const DIST = join(ROOT, "dist");
const { version, description } = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const ENTRIES = ["background", "content", "popup", "options"];
const PAGES = ["popup.html", "popup.css", "options.html", "options.css", "marks.css"];
const ICONS = { 16: "icons/icon-16.png", 32: "icons/icon-32.png", 48: "icons/icon-48.png", 128: "icons/icon-128.png" };
/** Licences of the bundled libraries, shipped beside the code that includes them. */
const LICENCES = { "licences/readability.md": "node_modules/@mozilla/readability/LICENSE.md" };
/** Zip entries get one fixed time, so the same sources give the same zip. */
const ZIP_TIME = new Date("2020-01-01T00:00:00Z");

/** The manifest both browsers share; each adds what it needs below. */
function manifest(browser) {
  const common = {
    manifest_version: 3,
    name: "propscan",
    version,
    description,
    // the page is read only when the reader clicks the button (activeTab); nothing else
    permissions: ["activeTab", "scripting", "storage"],
    action: { default_title: "Mark propaganda with propscan", default_popup: "popup.html", default_icon: ICONS },
    icons: ICONS,
    options_ui: { page: "options.html", open_in_tab: true },
    commands: { _execute_action: { suggested_key: { default: "Alt+Shift+P" } } },
    content_security_policy: {
      extension_pages: "script-src 'self'; object-src 'none'; base-uri 'none'",
    },
  };
  if (browser === "chromium") {
    return { ...common, minimum_chrome_version: "116", background: { service_worker: "background.js" } };
  }
  return {
    ...common,
    background: { scripts: ["background.js"] },
    browser_specific_settings: { gecko: { id: "propscan@propscan.invalid", strict_min_version: "121.0" } },
  };
}

function filesUnder(folder) {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

async function main() {
  rmSync(DIST, { recursive: true, force: true });
  for (const browser of ["chromium", "firefox"]) {
    const out = join(DIST, browser);
    mkdirSync(join(out, "icons"), { recursive: true });
    mkdirSync(join(out, "licences"), { recursive: true });
    await build({
      entryPoints: ENTRIES.map((name) => join(ROOT, "src", `${name}.js`)),
      outdir: out,
      bundle: true,
      format: "iife",
      target: browser === "chromium" ? "chrome116" : "firefox121",
      legalComments: "none",
      logLevel: "warning",
    });
    for (const page of PAGES) cpSync(join(ROOT, "src", page), join(out, page));
    for (const icon of Object.values(ICONS)) cpSync(join(ROOT, icon), join(out, icon));
    for (const [target, source] of Object.entries(LICENCES)) cpSync(join(ROOT, source), join(out, target));
    writeFileSync(join(out, "manifest.json"), `${JSON.stringify(manifest(browser), null, 2)}\n`);
    const entries = Object.fromEntries(
      filesUnder(out)
        .sort()
        .map((path) => [relative(out, path), [readFileSync(path), { mtime: ZIP_TIME }]]),
    );
    const zip = join(DIST, `propscan-${browser}-${version}.zip`);
    writeFileSync(zip, zipSync(entries, { level: 9 }));
    console.log(`${relative(ROOT, out)}/ and ${relative(ROOT, zip)}`);
  }
}

main().catch((error) => {
  console.error(`build failed: ${error.message}`);
  process.exit(1);
});
