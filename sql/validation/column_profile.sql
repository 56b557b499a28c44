-- column_profile: one row per used column: rows, numeric cells, non-finite and negative cells,
-- and min/max/mean of the finite values (macros/finite_or_null.sql). Aggregated wide over
-- stg_typed in one pass (one aggregate per used column, named '<stat>|<column>'), then turned
-- long: the screen reads the counts, check_constant_columns the range, and
-- validation_summary.json the whole table.
-- Params: $used_columns (VARCHAR[])
with wide as (
    select
        count(columns(lambda c: list_contains($used_columns, c)))::double as 'n_numeric|\0',
        count_if(
            not isfinite(columns(lambda c: list_contains($used_columns, c)))
        )::double as 'n_non_finite|\0',
        count_if(columns(lambda c: list_contains($used_columns, c)) < 0)::double
            as 'n_negative|\0',
        min(finite_or_null(columns(lambda c: list_contains($used_columns, c))))
            as 'min_value|\0',
        max(finite_or_null(columns(lambda c: list_contains($used_columns, c))))
            as 'max_value|\0',
        avg(finite_or_null(columns(lambda c: list_contains($used_columns, c))))
            as 'mean_value|\0'
    from stg_typed
),

stats as (
    select
        split_part(stat_column, '|', 1) as stat,
        substr(stat_column, strpos(stat_column, '|') + 1) as column_name,
        stat_value
    from wide
    unpivot include nulls (stat_value for stat_column in (columns(*)))
),

n_rows as (
    select count(*) as n_rows from stg_typed
),

final as (
    select
        s.column_name,
        any_value(r.role) as role,
        any_value(n.n_rows) as n_rows,
        any_value(s.stat_value) filter (where s.stat = 'n_numeric')::bigint as n_numeric,
        any_value(s.stat_value) filter (where s.stat = 'n_non_finite')::bigint as n_non_finite,
        any_value(s.stat_value) filter (where s.stat = 'n_negative')::bigint as n_negative,
        any_value(s.stat_value) filter (where s.stat = 'min_value') as min_value,
        any_value(s.stat_value) filter (where s.stat = 'max_value') as max_value,
        any_value(s.stat_value) filter (where s.stat = 'mean_value') as mean_value
    from stats as s
    inner join stg_column_roles as r using (column_name)
    cross join n_rows as n
    group by s.column_name
)

select * from final
order by column_name
