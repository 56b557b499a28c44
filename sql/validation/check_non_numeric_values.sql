-- check: non_numeric_values
-- severity: error
-- level: row
-- description: every used value parses as a number (no text, no thousands separators)
with final as (
    select
        column_name,
        "_source_row" + 1 as line,
        "entity_id",
        "period_start",
        value_text as value,
        'not a number' as problem
    from value_problems
    where kind = 'non_numeric'
)

select * from final
order by column_name, line
