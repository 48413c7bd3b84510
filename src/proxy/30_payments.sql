/*
 * 30_payments.sql — R-LED-5 across partitions (issue 17): one payment
 * (channel, external id) credits one customer.  recharge() on the proxy
 * first claims the payment id in the registry on partition 0
 * (claim_payment), then recharges on the customer's partition; an id
 * another customer claimed is refused as a single database refuses it
 * (GB005).  A retry after a failure between the two steps finds its own
 * claim and completes the recharge (each partition's recharge is
 * idempotent on the payment id).
 */

CREATE FUNCTION @extschema@.claim_payment(channel text, external_id text, customer bigint)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON 0; $$;
COMMENT ON FUNCTION @extschema@.claim_payment(text, text, bigint) IS 'gpubill.claim_payment on partition 0, the partitions'' registry of payment ids';
REVOKE EXECUTE ON FUNCTION @extschema@.claim_payment(text, text, bigint) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.claim_payment(text, text, bigint) TO gpubill_app;

CREATE FUNCTION @extschema@.recharge_on_partition(customer bigint, amt @extschema@.amount, channel text, external_id text,
												  at timestamp with time zone)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(customer); SELECT gpubill.recharge($1, $2, $3, $4, $5); $$;
COMMENT ON FUNCTION @extschema@.recharge_on_partition(bigint, @extschema@.amount, text, text, timestamp with time zone) IS 'gpubill.recharge on the customer''s partition';
REVOKE EXECUTE ON FUNCTION @extschema@.recharge_on_partition(bigint, @extschema@.amount, text, text, timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.recharge_on_partition(bigint, @extschema@.amount, text, text, timestamp with time zone) TO gpubill_app;

CREATE FUNCTION @extschema@.recharge(customer bigint, amt @extschema@.amount, channel text, external_id text,
									  at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
DECLARE
	owner bigint;
BEGIN
	IF customer IS NOT NULL AND channel IS NOT NULL AND external_id IS NOT NULL THEN	/* else the partition says what is missing */
		owner := @extschema@.claim_payment(channel, external_id, customer);
		IF owner <> customer THEN
			RAISE EXCEPTION 'request id "%:%" was already used with other arguments', channel, external_id
				USING ERRCODE = 'GB005', DETAIL = pg_catalog.format('The payment credited customer %s.', owner);
		END IF;
	END IF;
	RETURN @extschema@.recharge_on_partition(customer, amt, channel, external_id, at);
END
$$;
COMMENT ON FUNCTION @extschema@.recharge(bigint, @extschema@.amount, text, text, timestamp with time zone) IS 'gpubill.recharge through the proxy: the payment id claimed on partition 0, then the recharge on the customer''s partition (R-LED-5 across partitions)';
REVOKE EXECUTE ON FUNCTION @extschema@.recharge(bigint, @extschema@.amount, text, text, timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.recharge(bigint, @extschema@.amount, text, text, timestamp with time zone) TO gpubill_app;
