-- amount aggregates, operator classes and parallel aggregation
-- R-AMT-3 R-AMT-5
\set SHOW_CONTEXT never
SET search_path = gpubill, public;

CREATE TABLE ledger_sample (id int, amt amount);
INSERT INTO ledger_sample
SELECT i, amount_from_micros((i * 7919 % 20000001 - 10000000)::bigint * 13, CASE WHEN i % 10 = 0 THEN 'USD' ELSE 'CNY' END)
FROM generate_series(1, 200000) i;
ANALYZE ledger_sample;

-- sum/avg/min/max of one currency, checked against exact numeric arithmetic
SELECT currency(amt) AS cur, sum(amt), avg(amt), min(amt), max(amt), count(*),
	sum(amt)::numeric = sum(to_numeric(amt)) AS sum_exact,
	avg(amt)::numeric = round(avg(to_numeric(amt)), 6) AS avg_exact
FROM ledger_sample GROUP BY 1 ORDER BY 1;

-- forced parallel aggregation gives the serial result
CREATE TABLE agg_serial AS
SELECT currency(amt) AS cur, sum(amt) AS s, avg(amt) AS a, min(amt) AS lo, max(amt) AS hi
FROM ledger_sample GROUP BY 1;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET parallel_leader_participation = off;
EXPLAIN (COSTS OFF) SELECT sum(amt), avg(amt), min(amt), max(amt) FROM ledger_sample WHERE currency(amt) = 'CNY';
SELECT s.cur, p.s = s.s AS sum_same, p.a = s.a AS avg_same, p.lo = s.lo AS min_same, p.hi = s.hi AS max_same
FROM agg_serial s
JOIN (SELECT 'CNY' AS cur, sum(amt) AS s, avg(amt) AS a, min(amt) AS lo, max(amt) AS hi
	  FROM ledger_sample WHERE currency(amt) = 'CNY'
	  UNION ALL
	  SELECT 'USD', sum(amt), avg(amt), min(amt), max(amt)
	  FROM ledger_sample WHERE currency(amt) = 'USD') p USING (cur)
ORDER BY 1;
-- mixed currencies are refused in parallel workers too
SELECT sum(amt) FROM ledger_sample;
RESET parallel_leader_participation;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
RESET max_parallel_workers_per_gather;

-- mixed currencies: GB003 from every aggregate; empty input gives NULL
SELECT sum(x) FROM (VALUES ('1 CNY'::amount), ('1 USD')) v(x);
SELECT avg(x) FROM (VALUES ('1 CNY'::amount), ('1 USD')) v(x);
SELECT min(x) FROM (VALUES ('1 CNY'::amount), ('1 USD')) v(x);
SELECT max(x) FROM (VALUES ('1 CNY'::amount), ('1 USD')) v(x);
SELECT sum(x), avg(x), min(x), max(x) FROM (VALUES (NULL::amount)) v(x);
SELECT sum(x) IS NULL AS no_rows FROM ledger_sample v(i, x) WHERE false;

-- sum overflow is 22003 (the running sum is wider, so only the result is checked)
SELECT sum(x) FROM (VALUES ('9223372036854 CNY'::amount), ('1 CNY')) v(x);
SELECT sum(x) FROM (VALUES ('9223372036854 CNY'::amount), ('1 CNY'), ('-2 CNY')) v(x);
-- avg rounds half away from zero to 6 decimals
SELECT avg(x) FROM (VALUES ('0.000001 CNY'::amount), ('0.000002 CNY')) v(x);
SELECT avg(x) FROM (VALUES ('-0.000001 CNY'::amount), ('-0.000002 CNY')) v(x);

-- btree and hash classes: index, ORDER BY, DISTINCT, GROUP BY, hash and merge joins
CREATE INDEX ON ledger_sample (amt);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ledger_sample WHERE amt = '-129.986129 CNY';
SELECT id, amt FROM ledger_sample WHERE amt = '-129.986129 CNY';
SELECT id, amt FROM ledger_sample WHERE amt BETWEEN '129.99 USD' AND '200 USD' ORDER BY amt;
SELECT amt FROM ledger_sample ORDER BY amt DESC LIMIT 2;
RESET enable_seqscan;
SELECT DISTINCT x FROM (VALUES ('1 CNY'::amount), ('1.0 CNY'), ('1 USD'), ('0.5 USD'), ('-2 EUR')) v(x) ORDER BY x;
SELECT x, count(*) FROM (VALUES ('1 CNY'::amount), ('1.0 CNY'), ('1 USD'), ('1 USD')) v(x) GROUP BY x ORDER BY x;
SET enable_sort = off;
SELECT x, count(*) FROM (VALUES ('1 CNY'::amount), ('1.0 CNY'), ('1 USD'), ('1 USD')) v(x) GROUP BY x ORDER BY 2, 1;
RESET enable_sort;
CREATE TABLE prices (amt amount, label text);
INSERT INTO prices VALUES ('1 CNY', 'one yuan'), ('1 USD', 'one dollar'), ('2 CNY', 'two yuan');
SET enable_mergejoin = off; SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT * FROM prices a JOIN prices b USING (amt);
SELECT a.label, b.label FROM prices a JOIN prices b USING (amt) ORDER BY 1;
SET enable_hashjoin = off; SET enable_mergejoin = on;
SELECT a.label, b.label FROM prices a JOIN prices b USING (amt) ORDER BY 1;
RESET enable_hashjoin; RESET enable_mergejoin; RESET enable_nestloop;
CREATE TABLE prices_by_hash (amt amount) PARTITION BY HASH (amt);
CREATE TABLE prices_by_hash_0 PARTITION OF prices_by_hash FOR VALUES WITH (MODULUS 2, REMAINDER 0);
CREATE TABLE prices_by_hash_1 PARTITION OF prices_by_hash FOR VALUES WITH (MODULUS 2, REMAINDER 1);
INSERT INTO prices_by_hash SELECT amt FROM prices;
SELECT count(*) FROM prices_by_hash;

DROP TABLE prices_by_hash, prices, agg_serial, ledger_sample;
