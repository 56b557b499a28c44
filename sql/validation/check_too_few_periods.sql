-- check: too_few_periods
-- severity: error
-- level: summary
-- description: at least 2 x (number of model parameters) distinct periods to fit
-- Params: $min_periods
with counted as (
    select count(distinct "_period_date") as n_periods from stg_periods
),

final as (
    select
        'period_start' as column_name,
        null::bigint as line,
        null::varchar as "entity_id",
        null::varchar as "period_start",
        n_periods::varchar as value,
        'only ' || n_periods || ' periods; the model needs at least ' || $min_periods as problem
    from counted
    where n_periods < $min_periods
)

select * from final
