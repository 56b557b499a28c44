-- check: unbalanced_entities
-- severity: warning
-- description: every entity covers the same periods (else brand totals jump when one enters)
with per_entity as (
    select
        "entity_id",
        count(*) as n_periods,
        min(period_date) as first_period,
        max(period_date) as last_period
    from stg_entity_periods
    group by "entity_id"
),

overall as (
    select count(distinct period_date) as n_periods from stg_entity_periods
),

final as (
    select
        'entity_id' as column_name,
        null::bigint as line,
        p."entity_id",
        null::varchar as "period_start",
        strftime(p.first_period, '%Y-%m-%d') || ' .. ' || strftime(p.last_period, '%Y-%m-%d') as value,
        'covers ' || p.n_periods || ' of ' || o.n_periods || ' periods' as problem
    from per_entity as p
    cross join overall as o
    where p.n_periods < o.n_periods
)

select * from final order by "entity_id"
