// Loaded with `node --require` before Jazzer.js (tests/fuzz/jazzer.mjs does it): makes the
// libFuzzer addon of @jazzer.js/fuzzer (its prebuild, installed from npm at the pinned version)
// load on Debian 12, whose glibc (2.36) and libstdc++ (GCC 12) are older than the ones the
// prebuild was linked against.
//
// The prebuild asks for two symbol versions this system lacks, for three symbols:
//   __isoc23_strtol, __isoc23_strtoul @ GLIBC_2.38  (C23 strtol/strtoul: the same as strtol/strtoul
//     except that they also read a "0b" prefix with base 0 or 2; libFuzzer parses its decimal
//     flags with them)
//   std::ios_base_library_init() @ GLIBCXX_3.4.32   (GCC 13's <iostream> names it only to pull in
//     the stream initialisation; the addon has no relocation against it, so it is never resolved)
// When, and only when, loading the prebuild fails for a missing version, this writes a copy under
// build/fuzz/jazzer/ in which the two C23 symbols are strtol/strtoul@GLIBC_2.2.5 and the two
// version needs name versions this system has (GLIBC_2.2.5, GLIBCXX_3.4), and loads the copy.
// Nothing in node_modules is changed and no code is added: in the ELF's dynamic symbol and
// version tables, the two symbols' names (now suffixes of the strings already there) and version
// indexes, and the two version needs' names and hashes, are rewritten. A machine whose libraries
// are new enough loads the prebuild as it is.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const Module = require("node:module");

const ROOT = path.resolve(__dirname, "../..");
const OUT_DIR = path.join(ROOT, "build/fuzz/jazzer");

/** The rewritten copy of ELF64 little-endian shared object `bytes`, or throws saying why not. */
function patchElf(bytes) {
  const b = Buffer.from(bytes);
  if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) throw new Error("not an ELF64 little-endian file");
  const shoff = Number(b.readBigUInt64LE(0x28));
  const shentsize = b.readUInt16LE(0x3a);
  const shnum = b.readUInt16LE(0x3c);
  const sections = [];
  for (let i = 0; i < shnum; i++) {
    const at = shoff + i * shentsize;
    sections.push({
      type: b.readUInt32LE(at + 4),
      offset: Number(b.readBigUInt64LE(at + 0x18)),
      size: Number(b.readBigUInt64LE(at + 0x20)),
      link: b.readUInt32LE(at + 0x28),
    });
  }
  const one = (type, what) => {
    const s = sections.filter((x) => x.type === type);
    if (s.length !== 1) throw new Error(`expected one ${what} section, found ${s.length}`);
    return s[0];
  };
  const dynsym = one(11, ".dynsym");
  const versym = one(0x6fffffff, ".gnu.version");
  const verneed = one(0x6ffffffe, ".gnu.version_r");
  const dynstr = sections[dynsym.link];
  const str = (off) => {
    const start = dynstr.offset + off;
    return b.toString("latin1", start, b.indexOf(0, start));
  };

  // The version needs: per file, its aux entries { at, name, hash, index }.
  const needs = [];
  for (let at = verneed.offset; ; ) {
    const file = str(b.readUInt32LE(at + 4));
    let aux = at + b.readUInt32LE(at + 8);
    for (let n = b.readUInt16LE(at + 2); n > 0; n--) {
      needs.push({
        file,
        at: aux,
        name: str(b.readUInt32LE(aux + 8)),
        nameOff: b.readUInt32LE(aux + 8),
        hash: b.readUInt32LE(aux),
        index: b.readUInt16LE(aux + 6),
      });
      const next = b.readUInt32LE(aux + 12);
      if (!next) break;
      aux += next;
    }
    const next = b.readUInt32LE(at + 12);
    if (!next) break;
    at += next;
  }
  const need = (file, name) => {
    const n = needs.find((x) => x.file === file && x.name === name);
    if (!n) throw new Error(`no version need ${name} of ${file}`);
    return n;
  };
  /** Aux entry `from` (of `file`) now names version `to`, which the file also needs. */
  const rename = (file, from, to) => {
    const f = needs.find((x) => x.file === file && x.name === from);
    if (!f) return;
    const t = need(file, to);
    b.writeUInt32LE(t.hash, f.at);
    b.writeUInt32LE(t.nameOff, f.at + 8);
  };

  const libc = need("libc.so.6", "GLIBC_2.2.5");
  let renamed = 0;
  for (let i = 0, at = dynsym.offset; at < dynsym.offset + dynsym.size; i++, at += 24) {
    const name = str(b.readUInt32LE(at));
    if (name === "__isoc23_strtol" || name === "__isoc23_strtoul") {
      b.writeUInt32LE(b.readUInt32LE(at) + "__isoc23_".length, at); // "strtol" / "strtoul": the suffix
      b.writeUInt16LE(libc.index, versym.offset + 2 * i);
      renamed++;
    }
  }
  rename("libc.so.6", "GLIBC_2.38", "GLIBC_2.2.5");
  rename("libstdc++.so.6", "GLIBCXX_3.4.32", "GLIBCXX_3.4");
  return { bytes: b, renamed };
}

const loadNode = Module._extensions[".node"];
Module._extensions[".node"] = function load(module, filename) {
  if (!/[\\/]@jazzer\.js[\\/]fuzzer[\\/]prebuilds[\\/]fuzzer-linux-x64\.node$/.test(filename)) return loadNode(module, filename);
  try {
    return loadNode(module, filename);
  } catch (err) {
    if (!/version `(GLIBC|GLIBCXX)_[\d.]+' not found/.test(String(err?.message))) throw err;
    const { bytes, renamed } = patchElf(fs.readFileSync(filename));
    fs.mkdirSync(OUT_DIR, { recursive: true });
    const out = path.join(OUT_DIR, `fuzzer-linux-x64-${fs.statSync(filename).size}.node`);
    fs.writeFileSync(out, bytes);
    if (process.env.MC_JAZZER_VERBOSE)
      console.error(`jazzer-addon: ${err.message.split("\n")[0]}; loading ${path.relative(ROOT, out)} (${renamed} C23 symbols renamed)`);
    return loadNode(module, out);
  }
};
