/*
 * bi/10_wallets.sql — the BI schema on the proxy (issue 18): gpubill_bi's
 * views come from gpubill's src/sql/9_bi/10_views.sql, built over the
 * proxy's own gpubill views (each customer's rows from its partition, the
 * partners' and the platform's totals summed); wallets, each customer's row
 * on its partition, are every partition's gpubill_bi.wallets.  Read by
 * gpubill_reader, as on one database.
 */

CREATE FUNCTION @extschema@.bi_wallets_everywhere()
	RETURNS TABLE (customer bigint, currency text, cash numeric, vouchers numeric, held numeric, available numeric, recharged numeric)
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON ALL; SELECT * FROM gpubill_bi.wallets; $$;
COMMENT ON FUNCTION @extschema@.bi_wallets_everywhere() IS 'gpubill_bi.wallets of every partition';
REVOKE EXECUTE ON FUNCTION @extschema@.bi_wallets_everywhere() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.bi_wallets_everywhere() TO gpubill_reader, gpubill_admin;

CREATE VIEW gpubill_bi.wallets AS SELECT * FROM @extschema@.bi_wallets_everywhere();
COMMENT ON VIEW gpubill_bi.wallets IS 'Each customer''s wallet for BI through the proxy: every partition''s rows (issue 18)';

GRANT USAGE ON SCHEMA gpubill_bi TO gpubill_reader, gpubill_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA gpubill_bi TO gpubill_reader, gpubill_admin;
