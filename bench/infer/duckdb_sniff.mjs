import { DuckDBInstance } from '@duckdb/node-api';
const inst = await DuckDBInstance.create(':memory:');
const con = await inst.connect();
for (const f of process.argv.slice(2)) {
  let out = { file: f };
  try {
    const r = await con.runAndReadAll(`SELECT Delimiter, Quote, HasHeader, Columns, DateFormat, TimestampFormat, SkipRows FROM sniff_csv('${f}')`);
    const o = r.getRowObjectsJson()[0];
    out.delim = JSON.stringify(o.Delimiter); out.quote = o.Quote; out.header = o.HasHeader; out.skip = o.SkipRows;
    out.columns = o.Columns; out.date = o.DateFormat; out.ts = o.TimestampFormat;
  } catch (e) { out.sniff_error = String(e.message).split('\n')[0]; }
  try {
    const r = await con.runAndReadAll(`SELECT count(*) AS n FROM read_csv('${f}')`);
    out.rows = r.getRowObjectsJson()[0].n;
  } catch (e) { out.read_error = String(e.message).split('\n')[0]; }
  console.log(JSON.stringify(out));
}
