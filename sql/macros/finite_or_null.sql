-- finite_or_null(x): x when it is a finite number, else NULL -- so min/max/avg describe the
-- finite values. A macro because COLUMNS(...) may appear only once in an expression, and a
-- FILTER clause per aggregate costs three times as much over ten million rows.
create or replace macro finite_or_null(x) as
case when isfinite(x) then x end
