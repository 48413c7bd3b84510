-- scenario.sql — the clients' parity scenario in psql (issue 16): the same
-- calls, with the same values, that clients/python, clients/java and
-- clients/node make through their drivers with bound parameters; each
-- database must end with the same journal (test/clients.sh).  The last three
-- lines print what each client reads back: a wallet's cash (amount), the
-- partner's rating (rating), a billing month (billing_period: its bounds in
-- seconds since 1970 and its unit).
SET search_path = gpubill, public;
SELECT open_partner('sc-owner', 'CNY', '2026-11-01') AS p \gset
SELECT list_machine(:p, 4, '2.00 CNY'::amount, '2027-12-01', at => '2026-11-01') AS m \gset
SELECT open_customer('sc-cust', 'CNY', '2026-11-01') AS c \gset
SELECT recharge(:c, '100.00 CNY'::amount, 'wechat', 'sc-r1', '2026-11-01 08:00+08') IS NOT NULL AS recharged;
SELECT grant_voucher(:c, '5.50 CNY'::amount, '2026-12-01', '2026-11-01 08:00+08', 'sc-v1') IS NOT NULL AS granted;
SELECT create_instance(:c, :m, 2, at => '2026-11-01 09:30+08') AS i \gset
SELECT tick('2026-11-01 10:00+08') IS NOT NULL AS t1, tick('2026-11-01 11:00+08') IS NOT NULL AS t2;
SELECT stop_instance(:i, '2026-11-01 11:15+08');
SELECT rate_partner(:p, 100, 'sc', '2026-11-02') AS rating;
\pset tuples_only on
\pset format unaligned
SELECT 'cash ' || cash FROM wallet(:c);
SELECT 'rating ' || partner_rating(:p);
SELECT 'period ' || extract(epoch FROM lower(b))::bigint || ' ' || extract(epoch FROM upper(b))::bigint || ' ' || unit(b)
FROM billing_period('month', '2026-11-05 10:00+08') b;
