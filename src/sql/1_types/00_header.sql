/*
 * gpubill — billing for GPU compute marketplaces, inside PostgreSQL.
 *
 * This install script is built by the Makefile from src/sql/N_layer/NN_topic.sql,
 * concatenated in order.  Edit those files, not the built script.  A
 * released version's script is kept frozen in updates/ and never edited:
 * a change after it ships as updates/gpubill--A--B.sql.
 *
 * Map (scripts/file-map.pl):
 * Uses: nothing.
 */

\echo Use "CREATE EXTENSION gpubill" to load this file. \quit
