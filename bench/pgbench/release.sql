-- a stopped instance: freeze, then release
\set c random(:cmin, :cmax)
BEGIN;
SELECT gpubill.place_hold(:c, '1.00 CNY') AS h \gset
SELECT gpubill.release_hold(:h);
COMMIT;
