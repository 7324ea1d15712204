#!/usr/bin/env bash
# Provision the VS Code server (from the npm package code-server) that the
# integration tests run in, plus headless Chromium to drive it. Works offline
# (npm registry + Debian apt only). Recipe: docs/toolchain.md, "Real VS Code
# for integration tests".
#
# Idempotent: a marker file is written once everything is built and checked;
# later runs only verify the marker and return.
#
#   CRAFT_VSCODE_SERVER_DIR  install folder (default ~/.cache/craft-vscode-server/4.100.3)
#   CRAFT_SETUP_FORCE=1      redo the npm steps even if the marker exists
set -euo pipefail

VERSION=4.100.3
DIR="${CRAFT_VSCODE_SERVER_DIR:-$HOME/.cache/craft-vscode-server/$VERSION}"
MARKER="$DIR/.craft-setup-complete"
VSCODE="$DIR/node_modules/code-server/lib/vscode"

log() { printf '[setup-code-server] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# When launched from `npm run`, npm exports npm_config_* variables (local
# prefix, user agent, ...) that would make the nested installs below resolve
# the wrong project. Drop them; user/global .npmrc files still apply.
while IFS='=' read -r name _; do
  case "$name" in npm_config_*|npm_package_*|npm_lifecycle_*) unset "$name" ;; esac
done < <(env)

# --- Debian packages (chromium, ripgrep, kerberos headers, the Vulkan loader) --
bash "$(dirname "$0")/setup-system.sh"

# --- Fast path -----------------------------------------------------------------
if [ -f "$MARKER" ] && [ -f "$VSCODE/out/server-main.js" ] && [ "${CRAFT_SETUP_FORCE:-0}" != "1" ]; then
  log "ready: $VSCODE (marker present)"
  exit 0
fi
rm -f "$MARKER"

# --- code-server from npm ----------------------------------------------------
# --ignore-scripts: its postinstall refuses root, checks the node version and
# downloads things; we do the needed parts by hand below.
mkdir -p "$DIR"
cd "$DIR"
[ -f package.json ] || printf '{ "private": true, "description": "cache for craft-explain integration tests" }\n' > package.json
log "npm install code-server@$VERSION (scripts skipped) into $DIR"
npm install --prefix "$DIR" --no-audit --no-fund --ignore-scripts "code-server@$VERSION"
[ -f "$VSCODE/package.json" ] || die "code-server did not unpack lib/vscode"

# --- VS Code's own production dependencies -----------------------------------
cd "$VSCODE"
log "npm install --omit=dev in lib/vscode (scripts skipped)"
npm install --prefix "$VSCODE" --no-audit --no-fund --omit=dev --ignore-scripts

# Debian's ripgrep instead of the GitHub download (search in the workbench).
mkdir -p node_modules/@vscode/ripgrep/bin
cp -f /usr/bin/rg node_modules/@vscode/ripgrep/bin/rg

# Native modules: every package with a binding.gyp at its root (node-gyp
# against this machine's Node, whose headers npm's `nodedir` points to).
native=()
while IFS= read -r gyp; do
  pkgdir="$(dirname "$gyp")"
  native+=("$(node -p 'require(require("path").resolve(process.argv[1])).name' "$pkgdir/package.json")")
done < <(find node_modules -mindepth 2 -maxdepth 3 -name binding.gyp -not -path '*/node_modules/*/node_modules/*' | sort)
log "npm rebuild ${native[*]} @vscode/ripgrep"
# npm_config_yes: node-gyp may be fetched through npx, which the global
# `yes=false` would cancel.
npm_config_yes=true npm rebuild --prefix "$VSCODE" --foreground-scripts=false "${native[@]}" @vscode/ripgrep

# npm 11's allowScripts policy is advisory today (a warning) but is announced
# to block unreviewed scripts later, and a failed prebuild download can hide
# behind `||`: check that every addon really loads. A package passes when
# loading it (or its build/Release/*.node) dlopen()s at least one addon;
# @parcel/watcher uses its prebuilt @parcel/watcher-linux-x64-glibc. The
# Windows-only addons compile to empty modules here ("did not self-register"),
# so for them a built .node file is all we can check.
node -e '
  const fs = require("fs"), path = require("path");
  const windowsOnly = new Set(["@vscode/windows-process-tree", "@vscode/windows-registry", "@vscode/deviceid"]);
  const loaded = [];
  const dlopen = process.dlopen;
  process.dlopen = function (mod, file, ...rest) { loaded.push(file); return dlopen.call(this, mod, file, ...rest); };
  for (const name of process.argv.slice(1)) {
    const dir = path.resolve("node_modules", name);
    const rel = path.join(dir, "build", "Release");
    const built = fs.existsSync(rel) ? fs.readdirSync(rel).filter((f) => f.endsWith(".node")) : [];
    if (windowsOnly.has(name)) {
      if (built.length === 0) { console.error("not built: " + name); process.exitCode = 1; }
      continue;
    }
    const before = loaded.length;
    try {
      require(dir);
      for (const f of built) require(path.join(rel, f));
    } catch (e) { console.error("cannot load " + name + ": " + e.message); process.exitCode = 1; continue; }
    if (loaded.length === before) { console.error("no native addon loaded for " + name); process.exitCode = 1; }
  }' "${native[@]}" || die "a native module was not built or fails to load"
[ -x node_modules/@vscode/ripgrep/bin/rg ] || die "@vscode/ripgrep/bin/rg missing after rebuild"

# The server resolves its modules through node_modules.asar (as in the
# desktop build); without the link it fails to load them.
ln -sfn node_modules node_modules.asar

# --- Built-in extensions' dependencies (git, typescript-language-features, ...)
log "npm install --omit=dev in lib/vscode/extensions"
cd "$VSCODE/extensions"
npm install --prefix "$VSCODE/extensions" --no-audit --no-fund --omit=dev

cd "$VSCODE"
node -e 'require("fs").accessSync("out/server-main.js")'
printf 'code-server %s\nnative: %s\ndate: %s\n' "$VERSION" "${native[*]}" "$(date -u +%FT%TZ)" > "$MARKER"
log "ready: $VSCODE"
