-- check: constant_columns
-- severity: error
-- level: summary
-- description: the target, each driver and each control varies (not constant, not all zero)
-- Params: $model_columns (VARCHAR[]: target, drivers, controls)
with profile as (
    select * from column_profile
    where list_contains($model_columns, column_name)
),

final as (
    select
        column_name,
        null::bigint as line,
        null::varchar as "entity_id",
        null::varchar as "period_start",
        min_value::varchar as value,
        case
            when max_value = 0 then 'all zero: carries no information'
            else 'constant: carries no information'
        end as problem
    from profile
    where n_numeric > 0 and min_value = max_value
)

select * from final
order by column_name
