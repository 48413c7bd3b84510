-- a payment webhook
\set c random(:cmin, :cmax)
SELECT gpubill.recharge(:c, '50.00 CNY', 'stripe', 'bench-' || gen_random_uuid());
