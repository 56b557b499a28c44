-- check: non_finite_values
-- severity: error
-- level: row
-- description: no NaN or infinite values (including numbers too large for a double)
with final as (
    select
        column_name,
        "_source_row" + 1 as line,
        "entity_id",
        "period_start",
        value_text as value,
        case when isnan(value) then 'NaN value' else 'infinite or overflowing value' end as problem
    from value_problems
    where kind = 'non_finite'
)

select * from final
order by column_name, line
