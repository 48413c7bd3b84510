// gpubill-pg.js — gpubill's types for node-postgres (issue 16): type parsers
// for text and binary results, and an Amount that binds itself.  Use text
// results (node-postgres's default): its binary mode decodes every value as
// UTF-8 first, so a binary value whose bytes are not UTF-8 cannot reach a
// parser intact — the binary parsers read the values that do, and refuse the
// others with a clear error instead of a wrong number.
//
//   const { Client } = require('pg');
//   const gpubill = require('./gpubill-pg');
//   const client = new Client({ ...config, types: await gpubill.types(config) });   // or binary: true as well
//   await client.query('SELECT gpubill.recharge($1, $2, $3, $4)', [customer, new gpubill.Amount('100.00', 'CNY'), 'wechat', 'ext-1']);
//   const { rows } = await client.query('SELECT cash FROM gpubill.wallet($1)', [customer]);   // rows[0].cash: Amount
//
// Without it, the idiom is text: bind '100.00 CNY' with $1::gpubill.amount; read
// gpubill.to_numeric(x)::text (exact: a JS number is not) and gpubill.currency(x).
'use strict';
const pg = require('pg');

const MICROS = 1000000n;
const PG_EPOCH_MS = Date.UTC(2000, 0, 1);
const UNITS = ['second', 'hour', 'day', 'week', 'month'];

// an exact amount of money: the value as a decimal string (6 decimals at most) and a currency
class Amount {
  constructor(value, currency) {
    if (!/^-?\d+(\.\d{1,6})?$/.test(String(value))) throw new RangeError(`an amount has at most 6 decimals: ${value}`);
    if (!/^[A-Z]{3}$/.test(currency)) throw new RangeError(`a currency is three capital letters: ${currency}`);
    this.value = String(value);
    this.currency = currency;
  }

  // micro-units as a BigInt: the exact arithmetic
  get micros() {
    const neg = this.value.startsWith('-');
    const [whole, frac = ''] = this.value.replace('-', '').split('.');
    const m = BigInt(whole) * MICROS + BigInt((frac + '000000').slice(0, 6));
    return neg ? -m : m;
  }

  static fromMicros(micros, currency) {
    const neg = micros < 0n;
    const abs = neg ? -micros : micros;
    let frac = (abs % MICROS).toString().padStart(6, '0').replace(/0+$/, '');
    frac = frac.padEnd(2, '0');	// as gpubill prints it: two decimals at least
    return new Amount(`${neg ? '-' : ''}${abs / MICROS}.${frac}`, currency);
  }

  equals(o) { return o instanceof Amount && o.currency === this.currency && o.micros === this.micros; }
  toString() { return `${this.value} ${this.currency}`; }
  toPostgres() { return this.toString(); }	// node-postgres binds it as text
}

// node-postgres reads every field of a row as a UTF-8 string, binary ones too, and hands the type
// parser Buffer.from(that string): a byte that is not UTF-8 comes back as three bytes (U+FFFD) and
// the value is lost.  A binary value of the wrong length is such a value: refused, never misread.
const intact = (buf, length, type) => {
  if (buf.length !== length) {
    throw new Error(`node-postgres decoded a binary ${type} as UTF-8 and lost its bytes (${buf.length} bytes, not ${length}): ` +
      'read gpubill types in text mode (the default), or gpubill.to_numeric(x)::text');
  }
  return buf;
};
const parseAmount = (text) => { const [v, c] = text.split(' '); return new Amount(v, c); };
const parseAmountBinary = (buf) => {
  intact(buf, 11, 'gpubill.amount');
  return Amount.fromMicros(buf.readBigInt64BE(0), buf.toString('ascii', 8, 11));
};
const parseRatingBinary = (buf) => (intact(buf, 4, 'gpubill.rating').readInt32BE(0) / 1000).toFixed(3);
const parsePeriod = (text) => {
  const m = /^\[([^,]+),([^)]+)\) (\w+)$/.exec(text);
  const date = (s) => new Date(s.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
  return { lower: date(m[1]), upper: date(m[2]), unit: m[3] };
};
const parsePeriodBinary = (buf) => {
  intact(buf, 20, 'gpubill.billing_period');
  const at = (us) => new Date(PG_EPOCH_MS + Number(us / 1000n));
  return { lower: at(buf.readBigInt64BE(0)), upper: at(buf.readBigInt64BE(8)), unit: UNITS[buf.readInt32BE(16)] };
};

// a types object for a Client or Pool: pg's parsers, and gpubill's for its types' oids (looked up once)
async function types(config) {
  const probe = new pg.Client(config);
  await probe.connect();
  let oids;
  try {
    const { rows } = await probe.query(`SELECT 'gpubill.amount'::regtype::oid::int AS amount,
      'gpubill.rating'::regtype::oid::int AS rating, 'gpubill.billing_period'::regtype::oid::int AS period`);
    oids = rows[0];
  } finally {
    await probe.end();
  }
  const parsers = {
    text: { [oids.amount]: parseAmount, [oids.rating]: (t) => t, [oids.period]: parsePeriod },
    binary: { [oids.amount]: parseAmountBinary, [oids.rating]: parseRatingBinary, [oids.period]: parsePeriodBinary },
  };
  return {
    getTypeParser(oid, format = 'text') {
      return parsers[format][oid] || pg.types.getTypeParser(oid, format);
    },
  };
}

module.exports = { Amount, types };
