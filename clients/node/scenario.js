// scenario.js — clients/scenario.sql through node-postgres with gpubill-pg.js
// (issue 16): the same calls with the same values, amounts bound as Amount
// objects, as '... CNY' strings with $n::gpubill.amount and as
// gpubill.amount($n, $m); read back as Amount in text (and in binary what
// node-postgres's binary mode can carry: gpubill-pg.js).  Prints
// the three lines scenario.sql prints; test/clients.sh compares them and the
// journal with psql's.
//
//     node clients/node/scenario.js 'postgresql://app@127.0.0.1:5432/billing'
'use strict';
const assert = require('assert');
const { Client } = require('pg');
const { Amount, types } = require('./gpubill-pg');

async function main(url) {
  const config = { connectionString: url };
  const t = await types(config);
  const text = new Client({ ...config, types: t });
  const binary = new Client({ ...config, types: t, binary: true });
  await text.connect();
  await binary.connect();
  try {
    const one = async (sql, args) => Object.values((await text.query(sql, args)).rows[0])[0];
    await text.query('SET search_path = gpubill, public');
    const p = await one('SELECT open_partner($1, $2, $3)', ['sc-owner', 'CNY', '2026-11-01']);
    const m = await one('SELECT list_machine($1, $2, $3, $4, at => $5)', [p, 4, new Amount('2.00', 'CNY'), '2027-12-01', '2026-11-01']);
    const c = await one('SELECT open_customer($1, $2, $3)', ['sc-cust', 'CNY', '2026-11-01']);
    await one(`SELECT recharge($1, $2::gpubill.amount, 'wechat', $3, $4)`, [c, '100.00 CNY', 'sc-r1', '2026-11-01 08:00+08']);
    await one('SELECT grant_voucher($1, gpubill.amount($2, $3), $4, $5, $6)', [c, '5.50', 'CNY', '2026-12-01', '2026-11-01 08:00+08', 'sc-v1']);
    const i = await one('SELECT create_instance($1, $2, $3, at => $4)', [c, m, 2, '2026-11-01 09:30+08']);
    await one('SELECT tick($1) IS NOT NULL AND tick($2) IS NOT NULL', ['2026-11-01 10:00+08', '2026-11-01 11:00+08']);
    await one('SELECT stop_instance($1, $2) IS NULL', [i, '2026-11-01 11:15+08']);
    await one('SELECT rate_partner($1, $2, $3, $4)', [p, 100, 'sc', '2026-11-02']);

    const q = 'SELECT cash FROM gpubill.wallet($1)';
    const cash = (await text.query(q, [c])).rows[0].cash;
    assert(cash instanceof Amount && cash.equals(new Amount('98.50', 'CNY')), `${cash}`);
    const tiny = new Amount('-0.000001', 'USD');	// a value round-trips exactly
    assert(tiny.equals((await text.query('SELECT $1::gpubill.amount AS a', [tiny])).rows[0].a));
    // binary: a value whose bytes are UTF-8 arrives intact; one whose bytes are not is refused, never misread
    // (a query with parameters: node-postgres asks binary results only through the extended protocol)
    assert(new Amount('0.25', 'USD').equals((await binary.query('SELECT $1::gpubill.amount AS a', ['0.25 USD'])).rows[0].a));
    await assert.rejects(binary.query(q, [c]), /decoded a binary gpubill.amount as UTF-8/);
    const rq = 'SELECT gpubill.partner_rating($1) AS r';
    const rating = (await text.query(rq, [p])).rows[0].r;
    assert.strictEqual((await binary.query('SELECT $1::gpubill.rating AS r', ['0.1'])).rows[0].r, '0.100');
    await assert.rejects(binary.query('SELECT $1::gpubill.rating AS r', ['2.5']), /decoded a binary gpubill.rating as UTF-8/);
    const pq = `SELECT gpubill.billing_period('month', $1) AS b`;
    const period = (await text.query(pq, ['2026-11-05 10:00+08'])).rows[0].b;
    console.log(`cash ${cash}`);
    console.log(`rating ${rating}`);
    console.log(`period ${period.lower.getTime() / 1000} ${period.upper.getTime() / 1000} ${period.unit}`);
  } finally {
    await text.end();
    await binary.end();
  }
}

main(process.argv[2]).catch((e) => { console.error(e); process.exit(1); });
