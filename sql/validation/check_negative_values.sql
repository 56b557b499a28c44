-- check: negative_values
-- severity: error
-- description: target, media activity and spend are never negative
with final as (
    select
        column_name,
        "_source_row" + 1 as line,
        "entity_id",
        "period_start",
        value_text as value,
        'negative ' || role as problem
    from stg_observations
    where role in ('target', 'activity', 'spend') and value < 0
)

select * from final order by column_name, line
