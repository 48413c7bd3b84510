/*
 * 85_resale.sql — contract resale through the proxy (R-EXC-6, R-EXC-7).
 * A resale between two customers of one partition runs there, as on one
 * database.  A resale to a customer on another partition needs a saga
 * (prepare on the reseller's partition, accept on the buyer's, commit or
 * abort; the exchange's clearing netted across partitions) that is not
 * built yet (issue 18): it is refused with a clear error (GB004) and
 * nothing changes, rather than failing on the reseller's partition as an
 * unknown customer.
 */

CREATE FUNCTION @extschema@.resell_contract_at_home(contract bigint, new_customer bigint, price_per_gpu_hour @extschema@.amount,
													at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plproxy VOLATILE
	AS $$ CLUSTER 'gpubill_partitions'; RUN ON @extschema@.partition_of(contract); SELECT gpubill.resell_contract($1, $2, $3, $4); $$;
COMMENT ON FUNCTION @extschema@.resell_contract_at_home(bigint, bigint, @extschema@.amount, timestamp with time zone) IS 'gpubill.resell_contract on the contract''s partition';

CREATE FUNCTION @extschema@.resell_contract(contract bigint, new_customer bigint, price_per_gpu_hour @extschema@.amount,
											at timestamp with time zone DEFAULT NULL::timestamp with time zone)
	RETURNS bigint
	LANGUAGE plpgsql VOLATILE CALLED ON NULL INPUT PARALLEL UNSAFE
	SET search_path = pg_catalog, @extschema@, pg_temp
	AS $$
BEGIN
	IF contract IS NOT NULL AND new_customer IS NOT NULL
	   AND @extschema@.partition_of(contract) <> @extschema@.partition_of(new_customer) THEN
		RAISE EXCEPTION 'contract % cannot be resold to customer %, who lives on another partition', contract, new_customer
			USING ERRCODE = 'GB004',
				  DETAIL = pg_catalog.format('The contract is on partition %s, the customer on partition %s.',
											 @extschema@.partition_of(contract), @extschema@.partition_of(new_customer)),
				  HINT = 'Resale across partitions is not supported yet (gpubill issue 18); nothing was changed.';
	END IF;
	RETURN @extschema@.resell_contract_at_home(contract, new_customer, price_per_gpu_hour, at);
END
$$;
COMMENT ON FUNCTION @extschema@.resell_contract(bigint, bigint, @extschema@.amount, timestamp with time zone) IS 'gpubill.resell_contract through the proxy: on the contract''s partition when the buyer lives there; to a customer on another partition refused (GB004, issue 18)';
REVOKE EXECUTE ON FUNCTION @extschema@.resell_contract_at_home(bigint, bigint, @extschema@.amount, timestamp with time zone),
	@extschema@.resell_contract(bigint, bigint, @extschema@.amount, timestamp with time zone) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION @extschema@.resell_contract_at_home(bigint, bigint, @extschema@.amount, timestamp with time zone),
	@extschema@.resell_contract(bigint, bigint, @extschema@.amount, timestamp with time zone) TO gpubill_app;
