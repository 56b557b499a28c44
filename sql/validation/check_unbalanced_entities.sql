-- check: unbalanced_entities
-- severity: warning
-- level: summary
-- description: every entity covers the same periods (else brand totals jump when one enters)
with per_entity as (
    select
        "entity_id",
        n_periods,
        first_period,
        last_period
    from stg_entity_axis
    where n_dated_rows > 0
),

overall as (
    select count(distinct "_period_date") as n_periods from stg_periods
),

final as (
    select
        'entity_id' as column_name,
        null::bigint as line,
        p."entity_id",
        null::varchar as "period_start",
        strftime(p.first_period, '%Y-%m-%d') || ' .. ' || strftime(p.last_period, '%Y-%m-%d')
            as value,
        'covers ' || p.n_periods || ' of ' || o.n_periods || ' periods' as problem
    from per_entity as p
    cross join overall as o
    where p.n_periods < o.n_periods
)

select * from final
order by "entity_id"
