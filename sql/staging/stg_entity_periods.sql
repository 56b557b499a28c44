-- stg_entity_periods: one row per (entity, period), with the step from that entity's previous
-- period -- the time axis that grain detection, spacing and coverage checks all read.
with periods as (
    select distinct
        "entity_id",
        "_period_date" as period_date
    from stg_rows
    where "_period_date" is not null
),

final as (
    select
        "entity_id",
        period_date,
        lag(period_date) over (partition by "entity_id" order by period_date) as previous_date,
        date_diff('day', previous_date, period_date) as step_days,
        date_diff('month', previous_date, period_date) as step_months
    from periods
)

select * from final
