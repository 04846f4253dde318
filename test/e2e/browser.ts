// The browser the dashboard tests drive: the Chromium that ships inside the npm package @sparticuz/chromium, with
// its own NSS libraries and fonts, so a fresh machine needs `npm install` and nothing else (CHROMIUM_PATH runs
// another Chromium instead, e.g. Debian's /usr/bin/chromium).
//
// The package unpacks itself into os.tmpdir() and, if a `chromium` is already there, runs that one. Each run gets a
// directory of its own instead: two test runs at once never start a half-written binary, nor one of another version.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import sparticuz, { inflate } from "@sparticuz/chromium";
import { type Browser, chromium } from "playwright-core";

// Without the background-networking flags Chromium keeps calling Google's hosts, which this network refuses.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];

/** Launches the browser; `close` also removes what was unpacked for it. */
export async function launch(): Promise<{ browser: Browser; close: () => Promise<void> }> {
  const own = process.env.CHROMIUM_PATH;
  if (own) {
    const browser = await chromium.launch({ executablePath: own, args: FLAGS });
    return { browser, close: () => browser.close() };
  }
  const dir = mkdtempSync(join(tmpdir(), "jq-chromium-"));
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = dir; // where the package unpacks (it asks os.tmpdir() at each call)
  let executablePath: string;
  let libs: string;
  try {
    executablePath = await sparticuz.executablePath();
    libs = await inflate(join(import.meta.dirname, "../../node_modules/@sparticuz/chromium/bin/al2023.tar.br"));
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  // The package's own fonts.conf names fixed folders under /tmp: this one names where they were unpacked here.
  const fonts = join(dir, "fonts");
  writeFileSync(
    join(fonts, "local.conf"),
    // The system's fonts, where it has any, only add glyphs the package's Open Sans lacks (arrows, ▲, ⚠).
    `<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig><dir>${fonts}</dir>` +
      "<dir>/usr/share/fonts</dir>" +
      `<cachedir>${join(dir, "fonts-cache")}</cachedir></fontconfig>`,
  );
  const env = {
    ...process.env,
    LD_LIBRARY_PATH: join(libs, "lib"),
    FONTCONFIG_FILE: join(fonts, "local.conf"),
    // The bundled build takes its locale from LANG, and a C one (C.UTF-8: "en-US@posix") breaks the page's Intl.
    LANG: "en_US.UTF-8",
  };
  const browser = await chromium.launch({ executablePath, args: FLAGS, env });
  return {
    browser,
    close: async () => {
      await browser.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
