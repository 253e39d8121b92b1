/**
 * `require('starlog/register')` and `node -r starlog/register`: the CommonJS entry of
 * `starlog/register`. Setting up logging needs `await` (the receiver listens, the configuration
 * file is read), which `require()` and `-r` cannot wait for, so this entry does not set up
 * anything: it writes one line to stderr that says to use `--import` instead, and the application
 * runs without starlog, as with an invalid configuration (`starlog/register` never crashes its
 * host application). Nothing is thrown.
 *
 * @module
 */

process.stderr.write(
  'starlog/register: logging is off: it was loaded with -r or require(), which cannot wait for ' +
    'the set-up; load it with --import instead: node --import starlog/register app.js ' +
    "(or NODE_OPTIONS='--import starlog/register')\n",
);

// the ESM entry's `handle`: always undefined here (the types are the ESM entry's, whose type allows it)
module.exports = { handle: undefined };
