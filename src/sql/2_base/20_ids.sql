/*
 * 20_ids.sql — the sequences every gpubill id comes from.
 *
 * Ids come from one sequence (accounts from another, so that parties opened
 * together get consecutive ids); the setting shard_id moves both into a
 * range of their own (shard_id * 2^48 + n), so ids stay unique across
 * shards (SPEC section 10).
 *
 * Map (scripts/file-map.pl):
 * Uses: nothing.
 */

CREATE SEQUENCE @extschema@.id_seq MINVALUE 1 MAXVALUE 281474976710655;
COMMENT ON SEQUENCE @extschema@.id_seq IS 'Ids of every gpubill row; set_setting(''shard_id'', k) moves it to k * 2^48 + n';

CREATE SEQUENCE @extschema@.account_id_seq MINVALUE 1 MAXVALUE 281474976710655;
COMMENT ON SEQUENCE @extschema@.account_id_seq IS 'Ids of ledger accounts (apart, so that parties opened together get consecutive ids); moved with shard_id like id_seq';

CREATE SEQUENCE @extschema@.catalog_version_seq MINVALUE 1;
COMMENT ON SEQUENCE @extschema@.catalog_version_seq IS 'Versions of the partners and machines homed here: every change takes the next (their copies on other partitions follow the greater, issue 17)';
