// node-postgres (`pg`) against a running Sightline: simple and parameterised queries, type
// parsing. Usage: SIGHTLINE_PORT=5432 node pg_suite.js
const { Client } = require('pg');

const results = [];
async function check(name, f) {
  try {
    await f();
    results.push([name, null]);
  } catch (e) {
    results.push([name, `${e.constructor.name}: ${String(e.message).split('\n')[0]}`]);
  }
}
function require_(ok, what) {
  if (!ok) throw new Error(what);
}

(async () => {
  const client = new Client({
    host: '127.0.0.1',
    port: Number(process.env.SIGHTLINE_PORT || 5432),
    user: 'sightline',
    database: 'sightline',
  });
  await client.connect();

  await check('simple query', async () => {
    const r = await client.query('SELECT count(*) AS n FROM orders');
    require_(Number(r.rows[0].n) > 0, JSON.stringify(r.rows));
  });
  await check('parameterised query', async () => {
    const r = await client.query(
      'SELECT order_id, total FROM orders WHERE customer_id = $1 AND channel <> $2 ORDER BY order_id LIMIT 3',
      [2, 'nope']);
    require_(r.rows.length > 0, 'no rows');
  });
  await check('type parsing: int8, numeric, bool, date, timestamp, timestamptz, text[], int[]', async () => {
    const r = await client.query(
      "SELECT 7::BIGINT AS i, CAST(1.25 AS DECIMAL(10,2)) AS n, true AS b, DATE '2025-01-02' AS d, " +
      "TIMESTAMP '2025-01-02 03:04:05' AS ts, TIMESTAMPTZ '2025-01-02 03:04:05+02' AS tz, " +
      "make_array('a', 'b') AS ta, make_array(1, 2) AS ia");
    const row = r.rows[0];
    require_(row.i === '7', `int8 ${row.i}`);               // pg returns int8 as string
    require_(row.n === '1.25', `numeric ${row.n}`);
    require_(row.b === true, `bool ${row.b}`);
    require_(row.d instanceof Date, `date ${row.d}`);
    require_(row.ts instanceof Date, `timestamp ${row.ts}`);
    require_(row.tz instanceof Date && row.tz.toISOString() === '2025-01-02T01:04:05.000Z', `timestamptz ${row.tz}`);
    require_(Array.isArray(row.ta) && row.ta.join() === 'a,b', `text[] ${JSON.stringify(row.ta)}`);
    require_(Array.isArray(row.ia) && row.ia.join() === '1,2', `int[] ${JSON.stringify(row.ia)}`);
  });
  await check('prepared statement by name, reused', async () => {
    for (let i = 1; i <= 3; i++) {
      const r = await client.query({ name: 'by_customer', text: 'SELECT count(*) AS n FROM orders WHERE customer_id = $1', values: [i] });
      require_(r.rows.length === 1, 'row');
    }
  });
  await check('rowMode array and field metadata', async () => {
    const r = await client.query({ text: 'SELECT order_id, channel FROM orders LIMIT 1', rowMode: 'array' });
    require_(r.fields.map(f => f.name).join() === 'order_id,channel', JSON.stringify(r.fields));
    require_(r.fields[0].dataTypeID === 20 && r.fields[1].dataTypeID === 25, JSON.stringify(r.fields));
  });
  await check('analytic function', async () => {
    const r = await client.query('SELECT rfm_segment(5, 5, 5) AS s');
    require_(r.rows[0].s === 'Champions', r.rows[0].s);
  });
  await check('error has SQLSTATE', async () => {
    try {
      await client.query('SELECT * FROM no_such_table');
    } catch (e) {
      require_(e.code === '42P01', e.code);
      return;
    }
    throw new Error('no error');
  });
  await client.end();

  let failed = 0;
  for (const [name, err] of results) {
    console.log(`${err ? 'FAIL' : 'PASS'}\t${name}\t${err || ''}`);
    if (err) failed++;
  }
  console.log(`node-postgres ${require('pg/package.json').version}: ${results.length - failed}/${results.length} passed`);
  process.exit(failed ? 1 : 0);
})().catch(e => { console.log(`FAIL\tconnect\t${e.message}`); process.exit(1); });
