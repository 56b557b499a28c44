-- check: missing_values
-- severity: error
-- level: row
-- description: no blank cells in the target, drivers, their spend or controls
with final as (
    select
        column_name,
        "_source_row" + 1 as line,
        "entity_id",
        "period_start",
        value_text as value,
        'missing value' as problem
    from value_problems
    where kind = 'missing'
)

select * from final
order by column_name, line
