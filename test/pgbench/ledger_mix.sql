-- one customer's money movements in one transaction: recharge, voucher,
-- hold + partial capture split to a partner, cash-only hold + release
\set k random(1, 4)
\set p random(1, 3)
BEGIN;
SELECT (ARRAY[:c1, :c2, :c3, :c4]::bigint[])[:k] AS c, (ARRAY[:p1, :p2, :p3]::bigint[])[:p] AS partner \gset
SELECT gpubill.recharge(:c, '10.00 CNY', 'stripe', 'conc-' || gen_random_uuid());
SELECT gpubill.grant_voucher(:c, '1.00 CNY');
SELECT gpubill.place_hold(:c, '5.00 CNY') AS h \gset
SELECT * FROM gpubill.capture_hold(:h, '3.00 CNY', :partner);
SELECT gpubill.place_hold(:c, '2.00 CNY', true) AS h2 \gset
SELECT gpubill.release_hold(:h2);
COMMIT;
