-- an hourly settlement: freeze an hour's fee, capture part of it with the
-- fee split between a partner (:partners spread) and the platform
\set c random(:cmin, :cmax)
\set p random(:pmin, :pmax)
BEGIN;
SELECT gpubill.place_hold(:c, '1.00 CNY') AS h \gset
SELECT * FROM gpubill.capture_hold(:h, '0.73 CNY', CASE WHEN :spread = 1 THEN :p ELSE NULL END);
COMMIT;
