-- stg_entity_axis: one row per entity_id: its rows, distinct periods and first/last period.
-- Distinct periods are counted with a bitstring over period_index (one bit per period), which
-- is exact and costs a fraction of a distinct hash over every (entity, period) pair.
with dated as (
    select
        t."entity_id",
        p."_period_date" as period_date,
        p.period_index
    from stg_typed as t
    left join stg_periods as p on t."period_start" = p."period_start"
),

final as (
    select
        "entity_id",
        count(*) as n_rows,
        count(period_index) as n_dated_rows,
        coalesce(bit_count(bitstring_agg(period_index)), 0) as n_periods,
        min(period_index) as first_index,
        max(period_index) as last_index,
        min(period_date) as first_period,
        max(period_date) as last_period
    from dated
    group by "entity_id"
)

select * from final
