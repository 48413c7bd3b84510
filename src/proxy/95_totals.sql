/*
 * 95_totals.sql — the partners' and the platform's totals on the proxy
 * (issue 18): every partition holds a part of them (a partner's income
 * from each partition's customers, the platform's fees there, each
 * partition's own accounts), so the proxy's views sum the parts —
 * partner_statement per partner and month, with withdrawable floored at
 * zero once over the sum of every partition's running figure (a partition
 * without activity in a month adds its latest running figure before it);
 * platform_revenue per day and currency; accounts per owner, purpose and
 * currency (account_id: the lowest of the partitions' ids of that account).
 */

CREATE FUNCTION @extschema@.partner_statement_parts_everywhere()
	RETURNS TABLE (part integer, partner bigint, month date, gross @extschema@.amount, fees @extschema@.amount,
				   voucher_paid @extschema@.amount, income @extschema@.amount, deposits @extschema@.amount,
				   compensation @extschema@.amount, withdrawn @extschema@.amount, running @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM gpubill.partner_statement_parts(); $$;
COMMENT ON FUNCTION @extschema@.partner_statement_parts_everywhere() IS 'gpubill.partner_statement_parts of every partition';

CREATE VIEW @extschema@.partner_statement AS
WITH r AS MATERIALIZED (SELECT * FROM @extschema@.partner_statement_parts_everywhere())
SELECT m.partner, m.month, m.gross, m.fees, m.voucher_paid, m.income, m.deposits, m.compensation, m.withdrawn,
	   GREATEST((SELECT @extschema@.sum(l.running)
				 FROM (SELECT DISTINCT ON (x.part) x.running FROM r x
					   WHERE x.partner = m.partner AND x.month <= m.month ORDER BY x.part, x.month DESC) l),
				@extschema@.zero(@extschema@.currency(m.gross))) AS withdrawable
FROM (SELECT r.partner, r.month, @extschema@.sum(r.gross) AS gross, @extschema@.sum(r.fees) AS fees,
			 @extschema@.sum(r.voucher_paid) AS voucher_paid, @extschema@.sum(r.income) AS income,
			 @extschema@.sum(r.deposits) AS deposits, @extschema@.sum(r.compensation) AS compensation,
			 @extschema@.sum(r.withdrawn) AS withdrawn
	  FROM r GROUP BY r.partner, r.month) m;
COMMENT ON VIEW @extschema@.partner_statement IS 'partner_statement through the proxy: every partition''s parts summed per partner and month, withdrawable floored at zero once (R-PRT-2, issue 18)';

CREATE FUNCTION @extschema@.platform_revenue_everywhere()
	RETURNS TABLE (day date, currency text, service_fees @extschema@.amount, commissions @extschema@.amount,
				   voucher_breakage @extschema@.amount, compensation_paid @extschema@.amount,
				   compensation_recovered @extschema@.amount, vouchers_spent @extschema@.amount, forfeits @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM gpubill.platform_revenue; $$;
COMMENT ON FUNCTION @extschema@.platform_revenue_everywhere() IS 'gpubill.platform_revenue of every partition';

CREATE VIEW @extschema@.platform_revenue AS
SELECT r.day, r.currency, @extschema@.sum(r.service_fees) AS service_fees, @extschema@.sum(r.commissions) AS commissions,
	   @extschema@.sum(r.voucher_breakage) AS voucher_breakage, @extschema@.sum(r.compensation_paid) AS compensation_paid,
	   @extschema@.sum(r.compensation_recovered) AS compensation_recovered, @extschema@.sum(r.vouchers_spent) AS vouchers_spent,
	   @extschema@.sum(r.forfeits) AS forfeits
FROM @extschema@.platform_revenue_everywhere() r
GROUP BY r.day, r.currency;
COMMENT ON VIEW @extschema@.platform_revenue IS 'platform_revenue through the proxy: every partition''s days summed per day and currency (issue 18)';

CREATE FUNCTION @extschema@.accounts_everywhere()
	RETURNS TABLE (account_id bigint, owner_kind text, owner_id bigint, purpose text, currency text,
				   balance @extschema@.amount, balance_exact numeric)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM gpubill.accounts; $$;
COMMENT ON FUNCTION @extschema@.accounts_everywhere() IS 'gpubill.accounts of every partition';

CREATE VIEW @extschema@.accounts AS
SELECT s.account_id, s.owner_kind, s.owner_id, s.purpose, s.currency,
	   CASE WHEN pg_catalog.abs(s.micros) <= 9223372036854775807 THEN @extschema@.amount(s.micros / 1000000, s.currency) END AS balance,
	   s.micros / 1000000 AS balance_exact		/* as one database writes it: micro-units over 10^6 */
FROM (SELECT pg_catalog.min(a.account_id) AS account_id, a.owner_kind, a.owner_id, a.purpose, a.currency,
			 pg_catalog.sum(pg_catalog.round(a.balance_exact * 1000000)) AS micros
	  FROM @extschema@.accounts_everywhere() a
	  GROUP BY a.owner_kind, a.owner_id, a.purpose, a.currency) s;
COMMENT ON VIEW @extschema@.accounts IS 'accounts through the proxy: each account''s balances on every partition summed per owner, purpose and currency; account_id the lowest of its partitions'' ids (issue 18)';

REVOKE EXECUTE ON FUNCTION @extschema@.partner_statement_parts_everywhere(), @extschema@.platform_revenue_everywhere(),
	@extschema@.accounts_everywhere() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.partner_statement_parts_everywhere(), @extschema@.platform_revenue_everywhere(),
	@extschema@.accounts_everywhere() TO gpubill_reader, gpubill_app, gpubill_admin;
GRANT SELECT ON @extschema@.partner_statement, @extschema@.platform_revenue, @extschema@.accounts TO gpubill_reader;

/*
 * A provider's exchange wallet (R-EXC-4): its contracts' payments land on
 * their customers' partitions, each crediting the provider's exchange
 * account there (the copy opened it); the wallet is every partition's part
 * summed.  Offsets (R-EXC-9) are recorded at the provider's home and
 * recovered from the receipts there only (issue 18 leaves their recovery
 * from other partitions' receipts open).
 */
CREATE FUNCTION @extschema@.provider_wallet_everywhere(provider bigint)
	RETURNS TABLE (balance @extschema@.amount, commission_paid @extschema@.amount, offset_outstanding @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM gpubill.provider_wallet($1); $$;
COMMENT ON FUNCTION @extschema@.provider_wallet_everywhere(bigint) IS 'gpubill.provider_wallet of every partition';

CREATE FUNCTION @extschema@.provider_wallet(provider bigint)
	RETURNS TABLE (balance @extschema@.amount, commission_paid @extschema@.amount, offset_outstanding @extschema@.amount)
	LANGUAGE sql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
	SELECT @extschema@.sum(w.balance), @extschema@.sum(w.commission_paid), @extschema@.sum(w.offset_outstanding)
	FROM @extschema@.provider_wallet_everywhere(provider) w
$$;
COMMENT ON FUNCTION @extschema@.provider_wallet(bigint) IS 'gpubill.provider_wallet through the proxy: every partition''s part summed (R-EXC-4, issue 18)';
REVOKE EXECUTE ON FUNCTION @extschema@.provider_wallet_everywhere(bigint), @extschema@.provider_wallet(bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.provider_wallet_everywhere(bigint), @extschema@.provider_wallet(bigint) TO gpubill_app;

/*
 * R-EXC-9 across partitions (gpubill's 7_exchange/25_offset_steps.sql): the
 * offsets of a provider, at its home, recovered from its receipts on the
 * other partitions by a saga — begun at the home, the receipts offered on
 * every other partition, committed at the home — run by the proxy's tick
 * for every provider with an offset outstanding or a recovery under way.
 */
CREATE FUNCTION @extschema@.open_offsets_everywhere()
	RETURNS TABLE (provider_id bigint)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM gpubill.open_offsets(); $$;
COMMENT ON FUNCTION @extschema@.open_offsets_everywhere() IS 'gpubill.open_offsets of every partition';

CREATE FUNCTION @extschema@.begin_offset_recovery(provider bigint, at timestamptz,
												  OUT recovery bigint, OUT offsets bigint[], OUT outstanding @extschema@.amount)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(provider); $$;
COMMENT ON FUNCTION @extschema@.begin_offset_recovery(bigint, timestamptz) IS 'gpubill.begin_offset_recovery at the provider''s home';

CREATE FUNCTION @extschema@.offer_receipts_on(part integer, provider bigint, recovery bigint, offsets bigint[], up_to @extschema@.amount)
	RETURNS @extschema@.amount
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON part; SELECT gpubill.offer_receipts($2, $3, $4, $5); $$;
COMMENT ON FUNCTION @extschema@.offer_receipts_on(integer, bigint, bigint, bigint[], @extschema@.amount) IS 'gpubill.offer_receipts on one partition';

CREATE FUNCTION @extschema@.watch_offset_everywhere(provider bigint, "offset" bigint)
	RETURNS SETOF bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT gpubill.watch_offset($1, $2); $$;
COMMENT ON FUNCTION @extschema@.watch_offset_everywhere(bigint, bigint) IS 'gpubill.watch_offset on every partition';

CREATE FUNCTION @extschema@.record_provider_offset_at_home(provider bigint, amt @extschema@.amount, reason text,
														   at timestamp with time zone DEFAULT NULL::timestamp with time zone,
														   request_id text DEFAULT NULL::text)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(provider); SELECT gpubill.record_provider_offset($1, $2, $3, $4, $5); $$;
COMMENT ON FUNCTION @extschema@.record_provider_offset_at_home(bigint, @extschema@.amount, text, timestamp with time zone, text) IS 'gpubill.record_provider_offset at the provider''s home';

CREATE FUNCTION @extschema@.record_provider_offset(provider bigint, amt @extschema@.amount, reason text,
												   at timestamp with time zone DEFAULT NULL::timestamp with time zone,
												   request_id text DEFAULT NULL::text)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	id bigint := @extschema@.record_provider_offset_at_home(provider, amt, reason, at, request_id);
BEGIN
	BEGIN		/* its next receipts on every partition: those recorded from now on */
		PERFORM pg_catalog.count(*) FROM @extschema@.watch_offset_everywhere(provider, id);
	EXCEPTION WHEN OTHERS THEN
		RAISE WARNING 'offset % is recorded; a partition could not note its start: %', id, SQLERRM
			USING HINT = 'That partition offers the provider''s receipts from the proxy''s next tick on.';
	END;
	RETURN id;
END
$$;
COMMENT ON FUNCTION @extschema@.record_provider_offset(bigint, @extschema@.amount, text, timestamp with time zone, text) IS 'gpubill.record_provider_offset through the proxy: recorded at the provider''s home, its start noted on every partition, whose later receipts of the provider recover it (R-EXC-9, issue 18)';

CREATE FUNCTION @extschema@.commit_offset_recovery(recovery bigint, offered @extschema@.amount)
	RETURNS @extschema@.amount
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(recovery); $$;
COMMENT ON FUNCTION @extschema@.commit_offset_recovery(bigint, @extschema@.amount) IS 'gpubill.commit_offset_recovery at the provider''s home (where the recovery''s key was drawn)';

-- one provider's saga: returns what was recovered (NULL: nothing outstanding)
CREATE FUNCTION @extschema@.recover_offset(provider bigint, at timestamptz)
	RETURNS @extschema@.amount
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	b record;
	offered @extschema@.amount;
	k integer;
BEGIN
	SELECT * INTO b FROM @extschema@.begin_offset_recovery(provider, at);
	IF b.recovery IS NULL THEN
		RETURN NULL;
	END IF;
	offered := @extschema@.zero(@extschema@.currency(b.outstanding));
	FOR k IN SELECT p.partition FROM @extschema@.proxy_partition p WHERE p.partition <> @extschema@.partition_of(provider) ORDER BY 1 LOOP
		offered := offered + @extschema@.offer_receipts_on(k, provider, b.recovery, b.offsets, b.outstanding - offered);
	END LOOP;
	RETURN @extschema@.commit_offset_recovery(b.recovery, offered);
END
$$;
COMMENT ON FUNCTION @extschema@.recover_offset(bigint, timestamptz) IS 'Recover a provider''s offsets from its receipts on the other partitions: begun at its home, offered everywhere else, committed at the home; returns what was recovered (R-EXC-9, issue 18)';

-- tick: every provider with an offset outstanding or a recovery under way; returns how many were recovered from
CREATE FUNCTION @extschema@.recover_offsets(at timestamptz DEFAULT NULL)
	RETURNS integer
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	p bigint;
	got @extschema@.amount;
	n integer := 0;
BEGIN
	FOR p IN SELECT DISTINCT o.provider_id FROM @extschema@.open_offsets_everywhere() o ORDER BY 1 LOOP
		got := @extschema@.recover_offset(p, coalesce(at, pg_catalog.now()));
		IF got IS NOT NULL AND @extschema@.micros(got) > 0 THEN
			n := n + 1;
		END IF;
	END LOOP;
	RETURN n;
END
$$;
COMMENT ON FUNCTION @extschema@.recover_offsets(timestamptz) IS 'Recover every provider''s offsets from its receipts on other partitions (the proxy''s tick); returns how many providers had something recovered (R-EXC-9, issue 18)';

REVOKE EXECUTE ON FUNCTION @extschema@.open_offsets_everywhere(), @extschema@.begin_offset_recovery(bigint, timestamptz),
	@extschema@.offer_receipts_on(integer, bigint, bigint, bigint[], @extschema@.amount),
	@extschema@.watch_offset_everywhere(bigint, bigint),
	@extschema@.commit_offset_recovery(bigint, @extschema@.amount), @extschema@.recover_offset(bigint, timestamptz),
	@extschema@.recover_offsets(timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.open_offsets_everywhere(), @extschema@.begin_offset_recovery(bigint, timestamptz),
	@extschema@.offer_receipts_on(integer, bigint, bigint, bigint[], @extschema@.amount),
	@extschema@.watch_offset_everywhere(bigint, bigint),
	@extschema@.commit_offset_recovery(bigint, @extschema@.amount), @extschema@.recover_offset(bigint, timestamptz),
	@extschema@.recover_offsets(timestamptz) TO gpubill_app;
REVOKE EXECUTE ON FUNCTION @extschema@.record_provider_offset_at_home(bigint, @extschema@.amount, text, timestamp with time zone, text),
	@extschema@.record_provider_offset(bigint, @extschema@.amount, text, timestamp with time zone, text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.record_provider_offset_at_home(bigint, @extschema@.amount, text, timestamp with time zone, text),
	@extschema@.record_provider_offset(bigint, @extschema@.amount, text, timestamp with time zone, text),
	@extschema@.watch_offset_everywhere(bigint, bigint) TO gpubill_admin;
