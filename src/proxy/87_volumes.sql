/*
 * 87_volumes.sql — the providers' monthly volumes across partitions
 * (issue 18; R-EXC-4; the partitions' side is gpubill's
 * 7_exchange/20_contracts.sql).  The tier of a provider's commission in a
 * month is set by what it received in the month before, on every
 * partition.  push_volumes(at) finds the months from the one before its
 * earliest push to the one before at that a partition has not settled
 * (volume_months_missing), sums each month's volumes
 * over the partitions once, stores the sums here (proxy_volume: the first
 * sums win, so two pushes never give two partitions different volumes) and
 * applies them on every partition.  The proxy's tick pushes before the
 * partitions' ticks, and a contract payment or termination through the
 * proxy pushes first when a month has begun since; until then nothing is
 * asked of the partitions (proxy_volume_fresh: from the earliest push to
 * the next month's start).
 */

CREATE TABLE @extschema@.proxy_volume (
	month		date PRIMARY KEY,
	volumes		jsonb NOT NULL,				/* [{"provider": id, "volume": n}, ...] summed over the partitions */
	summed_at	timestamptz NOT NULL		/* the push's at */
);
COMMENT ON TABLE @extschema@.proxy_volume IS 'The providers'' volumes of a month summed over the partitions, pushed to each (R-EXC-4, issue 18)';

CREATE TABLE @extschema@.proxy_volume_fresh (
	one			boolean PRIMARY KEY DEFAULT true CHECK (one),
	since		timestamptz NOT NULL,		/* every month from the one before since ... */
	until		timestamptz NOT NULL		/* ... to the one before until is settled on every partition */
);
COMMENT ON TABLE @extschema@.proxy_volume_fresh IS 'The stretch of time for which no partition misses a month''s volumes: from the month before since (the earliest push) to the start of the month after the last push (issue 18)';

CREATE FUNCTION @extschema@.volume_months_missing_everywhere(since timestamptz, at timestamptz)
	RETURNS SETOF date
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT gpubill.volume_months_missing($1, $2); $$;
COMMENT ON FUNCTION @extschema@.volume_months_missing_everywhere(timestamptz, timestamptz) IS 'gpubill.volume_months_missing of every partition';

CREATE FUNCTION @extschema@.provider_volumes_everywhere(month date)
	RETURNS TABLE (provider_id bigint, volume numeric)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM gpubill.provider_volumes($1); $$;
COMMENT ON FUNCTION @extschema@.provider_volumes_everywhere(date) IS 'gpubill.provider_volumes of every partition';

CREATE FUNCTION @extschema@.apply_volumes_everywhere(month date, at timestamptz, volumes jsonb)
	RETURNS SETOF boolean
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT gpubill.apply_volumes($1, $2, $3); $$;
COMMENT ON FUNCTION @extschema@.apply_volumes_everywhere(date, timestamptz, jsonb) IS 'gpubill.apply_volumes on every partition';

CREATE FUNCTION @extschema@.next_month_start(at timestamptz)
	RETURNS timestamptz
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON 0; SELECT gpubill.upper(gpubill.billing_period('month', $1, gpubill.billing_timezone())); $$;
COMMENT ON FUNCTION @extschema@.next_month_start(timestamptz) IS 'The start of the calendar month after at, in the partitions'' billing time zone';

-- the months some partition misses by at: summed once, the same sums applied everywhere; returns how many months
CREATE FUNCTION @extschema@.push_volumes(at timestamptz)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	t timestamptz := coalesce(at, pg_catalog.now());
	f @extschema@.proxy_volume_fresh;
	outlier boolean;
	m date;
	v jsonb;
	pushed integer := 0;
BEGIN
	SELECT * INTO f FROM @extschema@.proxy_volume_fresh;
	IF t >= f.since AND t < f.until THEN
		RETURN 0;		/* every month a receipt at t may need is settled everywhere */
	END IF;
	/* a time far from every other (a bad input): only the month a receipt then needs, the stretch kept */
	outlier := t > f.until + interval '10 years' OR t < f.since - interval '10 years';
	FOR m IN SELECT DISTINCT x FROM @extschema@.volume_months_missing_everywhere(CASE WHEN outlier THEN t ELSE LEAST(f.since, t) END, t) x
			 ORDER BY 1 LOOP
		INSERT INTO @extschema@.proxy_volume (month, volumes, summed_at)
		SELECT m, coalesce(pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object('provider', s.provider_id, 'volume', s.volume)
												ORDER BY s.provider_id), '[]'), t
		FROM (SELECT x.provider_id, pg_catalog.sum(x.volume) AS volume
			  FROM @extschema@.provider_volumes_everywhere(m) x GROUP BY 1) s
		ON CONFLICT (month) DO NOTHING;
		SELECT p.volumes INTO STRICT v FROM @extschema@.proxy_volume p WHERE p.month = m;
		PERFORM pg_catalog.count(*) FROM @extschema@.apply_volumes_everywhere(m, t, v);
		pushed := pushed + 1;
	END LOOP;
	IF outlier IS NOT TRUE THEN
		INSERT INTO @extschema@.proxy_volume_fresh AS k (since, until) VALUES (t, @extschema@.next_month_start(t))
		ON CONFLICT (one) DO UPDATE SET since = LEAST(k.since, EXCLUDED.since), until = GREATEST(k.until, EXCLUDED.until);
	END IF;
	RETURN pushed;
END
$$;
COMMENT ON FUNCTION @extschema@.push_volumes(timestamptz) IS 'Push the providers'' volumes of every month a partition misses by at: summed over the partitions once, the same sums applied on each; returns how many months (R-EXC-4, issue 18)';

CREATE FUNCTION @extschema@.pay_contract_at_home(contract bigint, amt @extschema@.amount, external_id text,
												 at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(contract); SELECT gpubill.pay_contract($1, $2, $3, $4); $$;
COMMENT ON FUNCTION @extschema@.pay_contract_at_home(bigint, @extschema@.amount, text, timestamp with time zone) IS 'gpubill.pay_contract on the contract''s partition';

CREATE FUNCTION @extschema@.pay_contract(contract bigint, amt @extschema@.amount, external_id text,
										 at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	PERFORM @extschema@.push_volumes(at);		/* its commission's tier: the provider's volume of the month before */
	RETURN @extschema@.pay_contract_at_home(contract, amt, external_id, at);
END
$$;
COMMENT ON FUNCTION @extschema@.pay_contract(bigint, @extschema@.amount, text, timestamp with time zone) IS 'gpubill.pay_contract through the proxy: the providers'' volumes pushed first if a month began since (R-EXC-4), then on the contract''s partition';

CREATE FUNCTION @extschema@.terminate_contract_at_home(contract bigint, reason text,
													   at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(contract); SELECT gpubill.terminate_contract($1, $2, $3); $$;
COMMENT ON FUNCTION @extschema@.terminate_contract_at_home(bigint, text, timestamp with time zone) IS 'gpubill.terminate_contract on the contract''s partition';

CREATE FUNCTION @extschema@.terminate_contract(contract bigint, reason text, at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS void
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	PERFORM @extschema@.push_volumes(at);		/* a cancellation fee's commission: the provider's tier */
	PERFORM @extschema@.terminate_contract_at_home(contract, reason, at);
END
$$;
COMMENT ON FUNCTION @extschema@.terminate_contract(bigint, text, timestamp with time zone) IS 'gpubill.terminate_contract through the proxy: the providers'' volumes pushed first if a month began since (R-EXC-4), then on the contract''s partition';

REVOKE ALL ON @extschema@.proxy_volume, @extschema@.proxy_volume_fresh FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION @extschema@.volume_months_missing_everywhere(timestamptz, timestamptz), @extschema@.provider_volumes_everywhere(date),
	@extschema@.apply_volumes_everywhere(date, timestamptz, jsonb), @extschema@.next_month_start(timestamptz),
	@extschema@.push_volumes(timestamptz),
	@extschema@.pay_contract_at_home(bigint, @extschema@.amount, text, timestamp with time zone),
	@extschema@.pay_contract(bigint, @extschema@.amount, text, timestamp with time zone),
	@extschema@.terminate_contract_at_home(bigint, text, timestamp with time zone),
	@extschema@.terminate_contract(bigint, text, timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.volume_months_missing_everywhere(timestamptz, timestamptz), @extschema@.provider_volumes_everywhere(date),
	@extschema@.apply_volumes_everywhere(date, timestamptz, jsonb), @extschema@.next_month_start(timestamptz),
	@extschema@.push_volumes(timestamptz),
	@extschema@.pay_contract_at_home(bigint, @extschema@.amount, text, timestamp with time zone),
	@extschema@.pay_contract(bigint, @extschema@.amount, text, timestamp with time zone),
	@extschema@.terminate_contract_at_home(bigint, text, timestamp with time zone),
	@extschema@.terminate_contract(bigint, text, timestamp with time zone) TO gpubill_app;
GRANT SELECT, INSERT, UPDATE ON @extschema@.proxy_volume, @extschema@.proxy_volume_fresh TO gpubill_app;
