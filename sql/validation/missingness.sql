-- missingness: one row per used column: blank cells and cells that are not a number.
-- Row-level (reads value_problems), so it runs only when the screen found such cells; on a
-- clean file both counts are zero by the screen's proof.
with counted as (
    select
        column_name,
        count(*) filter (where kind = 'missing') as n_missing,
        count(*) filter (where kind = 'non_numeric') as n_non_numeric
    from value_problems
    group by column_name
),

final as (
    select
        r.column_name,
        coalesce(c.n_missing, 0) as n_missing,
        coalesce(c.n_non_numeric, 0) as n_non_numeric
    from stg_column_roles as r
    left join counted as c using (column_name)
)

select * from final
order by column_name
