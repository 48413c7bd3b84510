/*
 * gpubill_proxy — gpubill's API on a proxy database (issue 17).  Built by
 * the Makefile from gpubill's types layer (src/sql/1_types: the C types and
 * calculators, usable here without gpubill's tables), gpubill's roles
 * (src/sql/2_base/10_roles.sql) and the files of src/proxy: the partitions'
 * configuration and the routes, one PL/Proxy function per API function,
 * each with the signature of gpubill's own.
 *
 * On each partition k of n:  CREATE EXTENSION gpubill; SELECT gpubill.provision_partition(k, n);
 * On the proxy:              CREATE EXTENSION gpubill_proxy CASCADE;
 *                            SELECT gpubill.configure_partitions(ARRAY['<conninfo of p0>', ...]);
 */

\echo Use "CREATE EXTENSION gpubill_proxy CASCADE" to load this file. \quit
