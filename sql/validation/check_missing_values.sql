-- check: missing_values
-- severity: error
-- description: no blank cells in the target, drivers, their spend or controls
with final as (
    select
        column_name,
        "_source_row" + 1 as line,
        "entity_id",
        "period_start",
        value_text as value,
        'missing value' as problem
    from stg_observations
    where value_text is null or trim(value_text) = ''
)

select * from final order by column_name, line
