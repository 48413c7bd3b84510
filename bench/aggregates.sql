-- bench/aggregates.sql — sum and avg of amount vs bigint vs numeric over the same rows.
-- Run by bench/run.sh aggregates (psql variable rows, default 10 000 000).
-- Prints the median of 5 runs of each query and ratios to sum(bigint) / avg(bigint).
\set ON_ERROR_STOP on
\if :{?rows}
\else
\set rows 10000000
\endif
SET search_path = gpubill, public;
SET client_min_messages = warning;
SET jit = off;                               -- compare the functions, not the JIT
SET max_parallel_workers_per_gather = 0;     -- serial: one core per query

DROP TABLE IF EXISTS bench_money;
CREATE UNLOGGED TABLE bench_money AS
SELECT amount_from_micros(m, 'CNY') AS a, m AS b, (m::numeric / 1000000) AS n
FROM (SELECT (random() * 2e10)::bigint - 1e10::bigint AS m FROM generate_series(1, :rows)) s;
VACUUM ANALYZE bench_money;
SELECT count(*) AS rows, pg_size_pretty(pg_table_size('bench_money')) AS size FROM bench_money;

CREATE OR REPLACE FUNCTION pg_temp.median_ms(q text, runs int DEFAULT 5) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
	t timestamptz;
	times numeric[] := '{}';
BEGIN
	EXECUTE q;                                   -- warm the cache
	FOR i IN 1..runs LOOP
		t := clock_timestamp();
		EXECUTE q;
		times := times || (extract(epoch FROM clock_timestamp() - t) * 1000)::numeric;
	END LOOP;
	RETURN (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY x)::numeric, 1) FROM unnest(times) x);
END $$;

-- the three sums agree
SELECT sum(a)::numeric = sum(b)::numeric / 1000000 AND sum(a)::numeric = sum(n) AS sums_agree FROM bench_money;

CREATE TEMP TABLE results AS
SELECT q.name, pg_temp.median_ms(q.sql) AS ms
FROM (VALUES (1, 'sum(bigint)', 'SELECT sum(b) FROM bench_money'),
			 (2, 'sum(amount)', 'SELECT sum(a) FROM bench_money'),
			 (3, 'sum(numeric)', 'SELECT sum(n) FROM bench_money'),
			 (4, 'avg(bigint)', 'SELECT avg(b) FROM bench_money'),
			 (5, 'avg(amount)', 'SELECT avg(a) FROM bench_money'),
			 (6, 'avg(numeric)', 'SELECT avg(n) FROM bench_money'),
			 (7, 'count(*) (scan only)', 'SELECT count(*) FROM bench_money')) q(ord, name, sql)
ORDER BY q.ord;

SELECT name, ms,
	round(ms / (SELECT ms FROM results WHERE name = CASE WHEN r.name LIKE 'avg%' THEN 'avg(bigint)' ELSE 'sum(bigint)' END), 2)
		AS ratio_to_bigint
FROM results r;

SELECT round((SELECT ms FROM results WHERE name = 'sum(amount)') / (SELECT ms FROM results WHERE name = 'sum(bigint)'), 2)
		AS "sum(amount)/sum(bigint) (target <= 1.5)",
	round((SELECT ms FROM results WHERE name = 'sum(amount)') / (SELECT ms FROM results WHERE name = 'sum(numeric)'), 2)
		AS "sum(amount)/sum(numeric) (target < 1)";

DROP TABLE bench_money;
