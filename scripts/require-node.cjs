// Refuses a Node.js older than package.json's "engines" in one line, before npm start or npm test load
// anything (under Node 20 the suite would fail in confusing ways, argon2's binding even crashes). Plain
// CommonJS of the oldest syntax, so that any Node can run it. `npm ci` refuses too (engine-strict, .npmrc).
'use strict';
var engines = require('../package.json').engines.node;
var required = Number(
  String(engines)
    .replace(/[^0-9.]/g, '')
    .split('.')[0],
);
var major = Number(process.versions.node.split('.')[0]);
if (major < required) {
  process.stderr.write(
    'Mira needs Node.js ' +
      required +
      ' or newer, this is ' +
      process.version +
      ' (see .nvmrc: `nvm use`, or put .tools/node/bin first on PATH)\n',
  );
  process.exit(1);
}
