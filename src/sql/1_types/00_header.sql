/*
 * gpubill — billing for GPU compute marketplaces, inside PostgreSQL.
 *
 * This install script is built by the Makefile from src/sql/NN_topic.sql,
 * concatenated in order.  Edit those files, not the built script.
 *
 * Map (scripts/file-map.pl):
 * Uses: nothing.
 */

\echo Use "CREATE EXTENSION gpubill" to load this file. \quit
