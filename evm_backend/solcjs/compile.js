// Run the pinned solc-js on one standard-JSON input read from stdin; print its output.
// Imports are read from disk, relative to the directory given as the first argument.
"use strict";
const fs = require("fs");
const path = require("path");
const solc = require("solc");

const base = process.argv[2] || ".";
let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const findImports = (name) => {
    const file = path.resolve(base, name);
    try {
      return { contents: fs.readFileSync(file, "utf8") };
    } catch (err) {
      return { error: "File not found: " + name };
    }
  };
  process.stdout.write(JSON.stringify({
    version: solc.version(),
    output: JSON.parse(solc.compile(input, { import: findImports })),
  }));
});
