-- proxy-routes.sql — generate src/proxy/20_routes.sql from gpubill's catalogue (issue 17).
-- Run in a database where gpubill is installed:
--     psql -qXAt -d db -f scripts/proxy-routes.sql > src/proxy/20_routes.sql
-- One PL/Proxy function per function of gpubill granted to gpubill_app or
-- gpubill_reader, and per admin act keyed by a customer, transfer or provider
-- (set_b2b, reverse_transfer, set_provider_commission, record_provider_offset;
-- the admin's acts on every partition — closing and archiving months,
-- commission tiers — are issue 18's), with its name, parameter names, defaults, result type,
-- volatility and grants; routed by its first parameter: the partition that
-- drew the id (customer, instance, hold, contract, event, machine, partner,
-- provider), the hash of a new party's external reference, every partition
-- for a function returning rows without a key, partition 0 for a setting.
-- Then the customers' views, each the concatenation of every partition's rows.
-- tick() is src/proxy/50_clock.sql's (every partition's tick, counters added);
-- verify() is src/proxy/40_settings.sql's (every partition's
-- checks, and their settings digests compared); recharge() and claim_payment()
-- are src/proxy/30_payments.sql's (it claims the
-- payment id on partition 0 first); create_instance, start_instance and
-- resize_instance are src/proxy/80_capacity.sql's (they claim the machine's
-- GPUs at its home first); request_withdrawal and withdrawable are
-- src/proxy/90_partner_money.sql's (a partner's money on every partition).  The partitions' functions the proxy itself
-- calls (its protocol: catalogue pushes, GPU claims) are not routed.
-- The catalogue acts (a volatile function keyed by a machine or partner,
-- open_partner, open_provider) are each a PL/Proxy route NAME_at_home and a
-- function NAME that calls it, then pushes the partition's changed partners
-- and machines to every partition (push_catalog, src/proxy/70_catalog.sql);
-- the partitions' catalogue functions themselves are 70_catalog.sql's.
-- test/proxy.sh regenerates the file and requires it unchanged.
WITH api AS (
	SELECT p.oid, p.proname, p.proretset, p.provolatile, p.proacl,
		   pg_catalog.pg_get_function_arguments(p.oid) AS args,
		   pg_catalog.pg_get_function_identity_arguments(p.oid) AS ident,
		   pg_catalog.pg_get_function_result(p.oid) AS result,
		   p.proargnames[1] AS first_arg,
		   (SELECT pg_catalog.string_agg('$' || i, ', ' ORDER BY i) FROM pg_catalog.generate_series(1, p.pronargs) i) AS dollars,
		   (p.provolatile = 'v' AND p.proargnames[1] IN ('machine', 'partner')) OR p.proname IN ('open_partner', 'open_provider') AS catalog
	FROM pg_catalog.pg_proc p
	WHERE p.pronamespace = 'gpubill'::regnamespace
	  AND (pg_catalog.has_function_privilege('gpubill_app', p.oid, 'EXECUTE')
		   OR pg_catalog.has_function_privilege('gpubill_reader', p.oid, 'EXECUTE')
		   OR pg_catalog.has_function_privilege('gpubill_admin', p.oid, 'EXECUTE')
			  AND p.proargnames[1] IN ('customer', 'transfer', 'provider'))	/* the admin's keyed acts */
	  AND p.prosecdef AND p.proname NOT IN ('tick', 'recharge', 'claim_payment', 'verify',
							 'create_instance', 'start_instance', 'resize_instance', 'request_withdrawal', 'withdrawable',
							 'take_offline', 'provider_wallet', 'resell_contract',
							 'pay_contract', 'terminate_contract', 'record_provider_offset')	/* handwritten */
	  AND p.proname NOT IN ('catalog_changes', 'apply_catalog', 'catalog_pushed', 'catalog_digest',	/* the proxy's protocol */
							 'claim_gpus', 'confirm_gpu_claim', 'release_gpu_claims', 'unconfirmed_claims', 'claimed_gpus',
							 'running_gpus', 'instance_machine', 'known_request', 'ended_runs', 'runs_drained', 'runs_of_claims', 'partner_part', 'begin_withdrawal', 'commit_withdrawal', 'pending_withdrawals',
							 'partner_statement_parts', 'outage_changes', 'apply_outage', 'outage_pushed',
							 'begin_resale', 'accept_resale', 'decide_resale', 'commit_resale', 'abandon_resale', 'pending_resales', 'resale_sides',
							 'provider_volumes', 'apply_volumes', 'volume_months_missing',
							 'open_offsets', 'begin_offset_recovery', 'offer_receipts', 'commit_offset_recovery', 'watch_offset')
), routed AS (
	SELECT a.*,
		   CASE WHEN a.first_arg IN ('customer', 'instance', 'hold', 'contract', 'event', 'machine', 'partner', 'provider', 'transfer')
					THEN pg_catalog.format('@extschema@.partition_of(%I)', a.first_arg)
				WHEN a.first_arg = 'external_ref' THEN 'pg_catalog.hashtext(external_ref)'
				WHEN a.proretset THEN 'ALL'
				ELSE '0' END AS route,
		   (SELECT pg_catalog.string_agg(r.rolname, ', ' ORDER BY r.rolname)
			FROM pg_catalog.aclexplode(a.proacl) x JOIN pg_catalog.pg_roles r ON r.oid = x.grantee
			WHERE r.rolname IN ('gpubill_app', 'gpubill_reader', 'gpubill_admin')) AS roles
	FROM api a
)
SELECT '/*' || E'\n'
	|| ' * 20_routes.sql — gpubill''s API on the proxy: one PL/Proxy function per API' || E'\n'
	|| ' * function, generated from gpubill''s catalogue by scripts/proxy-routes.sql' || E'\n'
	|| ' * (do not edit; test/proxy.sh regenerates it and requires it unchanged).' || E'\n'
	|| ' */' || E'\n\n'
	|| pg_catalog.string_agg(pg_catalog.replace(pg_catalog.replace(CASE WHEN NOT r.catalog THEN pg_catalog.format(
		'CREATE FUNCTION @extschema@.%I(%s)' || E'\n\t' || 'RETURNS %s' || E'\n\t' || 'LANGUAGE plproxy %s' || E'\n\t'
		|| 'AS $$ CLUSTER ''gpubill_partitions''; RUN ON %s; $$;' || E'\n'
		|| 'COMMENT ON FUNCTION @extschema@.%I(%s) IS %L;' || E'\n'
		|| 'REVOKE EXECUTE ON FUNCTION @extschema@.%I(%s) FROM PUBLIC;' || E'\n'
		|| 'GRANT EXECUTE ON FUNCTION @extschema@.%I(%s) TO %s;',
		r.proname, r.args, r.result, 'VOLATILE',	/* PL/Proxy functions must be */
		r.route, r.proname, r.ident,
		'gpubill.' || r.proname || ' routed to ' || CASE r.route WHEN 'ALL' THEN 'every partition (rows concatenated)'
														   WHEN '0' THEN 'partition 0'
														   ELSE 'the partition of ' || r.first_arg END,
		r.proname, r.ident, r.proname, r.ident, r.roles)
	ELSE pg_catalog.format(
		'CREATE FUNCTION @extschema@.%I(%s)' || E'\n\t' || 'RETURNS %s' || E'\n\t' || 'LANGUAGE plproxy VOLATILE' || E'\n\t'
		|| 'AS $$ CLUSTER ''gpubill_partitions''; RUN ON %s; SELECT remote_schema.%I(%s); $$;' || E'\n'
		|| 'COMMENT ON FUNCTION @extschema@.%1$I(%7$s) IS %8$L;' || E'\n'
		|| 'REVOKE EXECUTE ON FUNCTION @extschema@.%1$I(%7$s) FROM PUBLIC;' || E'\n'
		|| 'GRANT EXECUTE ON FUNCTION @extschema@.%1$I(%7$s) TO %9$s;' || E'\n\n'
		|| 'CREATE FUNCTION @extschema@.%5$I(%2$s)' || E'\n\t' || 'RETURNS %3$s' || E'\n\t'
		|| 'LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE' || E'\n\t'
		|| 'SET search_path = pg_catalog, @extschema@, pg_temp' || E'\n\t' || 'AS $$' || E'\n'
		|| '%10$s' || E'\n' || '$$;' || E'\n'
		|| 'COMMENT ON FUNCTION @extschema@.%5$I(%7$s) IS %11$L;' || E'\n'
		|| 'REVOKE EXECUTE ON FUNCTION @extschema@.%5$I(%7$s) FROM PUBLIC;' || E'\n'
		|| 'GRANT EXECUTE ON FUNCTION @extschema@.%5$I(%7$s) TO %9$s;',
		r.proname || '_at_home', r.args, r.result, r.route, r.proname, r.dollars, r.ident,
		'gpubill.' || r.proname || ' routed to the partition of ' || r.first_arg,
		r.roles,
		CASE WHEN r.result = 'void' THEN
			pg_catalog.format(E'BEGIN\n\tPERFORM @extschema@.%I(%s);\n\tPERFORM @extschema@.push_catalog(@extschema@.partition_of($1));\nEND',
							  r.proname || '_at_home', r.dollars)
		ELSE
			pg_catalog.format(E'DECLARE\n\tr %s;\nBEGIN\n\tr := @extschema@.%I(%s);\n\tPERFORM @extschema@.push_catalog(@extschema@.partition_of(%s));\n\tRETURN r;\nEND',
							  r.result, r.proname || '_at_home', r.dollars, CASE WHEN r.first_arg = 'external_ref' THEN 'r' ELSE '$1' END)
		END,
		'gpubill.' || r.proname || ' through the proxy: at the partition of ' || r.first_arg
			|| ', then the partners and machines it changed pushed to every partition (issue 17)')
	END, 'gpubill.', '@extschema@.'), 'remote_schema.', 'gpubill.'), E'\n\n' ORDER BY r.proname, r.ident)
FROM routed r
UNION ALL
-- the customers' views: each row lives on one partition (its customer's), so every partition's rows,
-- concatenated, are the view; the partners' and the platform's totals (partner_statement,
-- platform_revenue, accounts) are sums over the partitions: issue 18
SELECT pg_catalog.string_agg(pg_catalog.replace(pg_catalog.format(
		'CREATE FUNCTION @extschema@.%I()' || E'\n\t' || 'RETURNS TABLE(%s)' || E'\n\t' || 'LANGUAGE plproxy VOLATILE' || E'\n\t'
		|| 'AS $$ CLUSTER ''gpubill_partitions''; RUN ON ALL; SELECT * FROM gpubill.%I; $$;' || E'\n'
		|| 'COMMENT ON FUNCTION @extschema@.%I() IS %L;' || E'\n'
		|| 'REVOKE EXECUTE ON FUNCTION @extschema@.%I() FROM PUBLIC;' || E'\n'
		|| 'GRANT EXECUTE ON FUNCTION @extschema@.%I() TO %s;' || E'\n'
		|| 'CREATE VIEW @extschema@.%I AS SELECT * FROM @extschema@.%I();' || E'\n'
		|| 'COMMENT ON VIEW @extschema@.%I IS %L;' || E'\n'
		|| 'GRANT SELECT ON @extschema@.%I TO %s;',
		v.relname || '_rows', v.cols, v.relname, v.relname || '_rows', 'gpubill.' || v.relname || ' of every partition',
		v.relname || '_rows', v.relname || '_rows', v.roles, v.relname, v.relname || '_rows',
		v.relname, v.relname || ' through the proxy: every partition''s rows (issue 17)', v.relname, v.roles), 'gpubill.', '@extschema@.'),
		E'\n\n' ORDER BY v.relname)
FROM (SELECT c.relname,
			 (SELECT pg_catalog.string_agg(pg_catalog.format('%I %s', a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)), ', ' ORDER BY a.attnum)
			  FROM pg_catalog.pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS cols,
			 (SELECT pg_catalog.string_agg(r.rolname, ', ' ORDER BY r.rolname)
			  FROM pg_catalog.aclexplode(c.relacl) x JOIN pg_catalog.pg_roles r ON r.oid = x.grantee
			  WHERE r.rolname IN ('gpubill_app', 'gpubill_reader', 'gpubill_admin') AND x.privilege_type = 'SELECT') AS roles
	  FROM pg_catalog.pg_class c
	  WHERE c.relnamespace = 'gpubill'::regnamespace AND c.relkind = 'v'
		AND c.relname IN ('customer_statement', 'instance_usage', 'arrears', 'transfers', 'open_alerts', 'lifecycle_events',
						  'due_lifecycle_events', 'tick_failures', 'contract_receivables')) v;
