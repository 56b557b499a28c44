-- check: negative_values
-- severity: error
-- level: row
-- description: target, media activity and spend are never negative
with final as (
    select
        column_name,
        "_source_row" + 1 as line,
        "entity_id",
        "period_start",
        value_text as value,
        'negative ' || role as problem
    from value_problems
    where kind = 'negative'
)

select * from final
order by column_name, line
