-- detect_grain: one row describing the time axis -- grain from the step between periods.
-- WEEK: every step is 7 days; MONTH: every step is 28-31 days; MIXED: both occur.
with periods as (
    select * from stg_entity_periods
),

steps as (
    select step_days from periods
),

classified as (
    select
        case
            when step_days = 7 then 'WEEK'
            when step_days between 28 and 31 then 'MONTH'
        end as step_grain
    from steps
    where step_days is not null
),

counts as (
    select
        count(*) filter (where step_grain = 'WEEK') as week_steps,
        count(*) filter (where step_grain = 'MONTH') as month_steps
    from classified
),

final as (
    select
        case
            when week_steps > 0 and month_steps > 0 then 'MIXED'
            when week_steps > 0 then 'WEEK'
            when month_steps > 0 then 'MONTH'
            else 'UNKNOWN'
        end as grain,
        week_steps,
        month_steps,
        (select count(distinct p.period_date) from periods as p) as n_periods,
        (select count(distinct p."entity_id") from periods as p) as n_entities,
        (select list(distinct p."entity_id" order by p."entity_id") from periods as p) as entities,
        (select strftime(min(p.period_date), '%Y-%m-%d') from periods as p) as first_period,
        (select strftime(max(p.period_date), '%Y-%m-%d') from periods as p) as last_period
    from counts
)

select * from final
